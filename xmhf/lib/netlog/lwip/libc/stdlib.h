/* stdlib.h for lwIP: only netif_find calls atoi, and the network log never
 * calls netif_find (the linker drops it). */
int atoi(const char *s);
