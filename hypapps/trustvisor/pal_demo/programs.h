/* The programs of the multi-call binary pal_demo<VARIANT> (pal_demo.c). */
#ifndef PROGRAMS_H
#define PROGRAMS_H

int prog_test(int argc, char **argv);      /* test.c */
int prog_main(int argc, char **argv);      /* main.c */
int prog_test_args(int argc, char **argv); /* test_args.c */
int prog_pal_bench(int argc, char **argv); /* pal_bench.c */
int prog_pal_reg(int argc, char **argv);   /* pal_reg.c */
int prog_pal_bad(int argc, char **argv);   /* pal_bad.c */

#endif
