/* xmhf/lib/cmdline.c */
#include "unit.h"
#include <stdio.h>
#include <xmhf/cmdline.h>

static struct cmdline c;

static void parse(const char *s)
{
	cmdline_parse(s, &c);
}

static void assert_default_serial(void)
{
	assert_int_equal(c.serial.baud, 115200);
	assert_int_equal(c.serial.data_bits, 8);
	assert_int_equal(c.serial.parity, 'n');
	assert_int_equal(c.serial.stop_bits, 1);
	assert_int_equal(c.serial.port, 0x3f8);
}

static void assert_one_warning(const char *expected)
{
	assert_int_equal(c.n_warnings, 1);
	assert_string_equal(c.warnings[0], expected);
}

static void test_defaults(void **state)
{
	(void)state;
	memset(&c, 0xa5, sizeof(c));
	cmdline_defaults(&c);
	assert_default_serial();
	assert_int_equal(c.boot_drive, 0x80);
	assert_int_equal(c.loglvl, LOG_INFO);
	assert_false(c.e9);
	assert_int_equal(c.n_extra, 0);
	assert_int_equal(c.n_warnings, 0);
}

static void test_null_empty_and_blank_give_defaults(void **state)
{
	static const char *const lines[] = { NULL, "", "   ", "\t\r\n" };

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		memset(&c, 0xa5, sizeof(c));
		parse(lines[i]);
		assert_default_serial();
		assert_int_equal(c.boot_drive, 0x80);
		assert_int_equal(c.loglvl, LOG_INFO);
		assert_int_equal(c.n_extra + c.n_warnings, 0);
	}
}

static void test_all_known_keys(void **state)
{
	(void)state;
	parse("serial=9600,7e2,0x2f8 boot_drive=0x81 loglvl=trace e9=on");
	assert_int_equal(c.serial.baud, 9600);
	assert_int_equal(c.serial.data_bits, 7);
	assert_int_equal(c.serial.parity, 'e');
	assert_int_equal(c.serial.stop_bits, 2);
	assert_int_equal(c.serial.port, 0x2f8);
	assert_int_equal(c.boot_drive, 0x81);
	assert_int_equal(c.loglvl, LOG_TRACE);
	assert_true(c.e9);
	assert_int_equal(c.n_warnings, 0);
}

static void test_serial_partial_forms(void **state)
{
	(void)state;
	parse("serial=57600");
	assert_int_equal(c.serial.baud, 57600);
	assert_int_equal(c.serial.port, 0x3f8);
	parse("serial=1200,5O1");
	assert_int_equal(c.serial.baud, 1200);
	assert_int_equal(c.serial.data_bits, 5);
	assert_int_equal(c.serial.parity, 'o');
	assert_int_equal(c.serial.port, 0x3f8);
	parse("serial=115200,8s1,1016");  /* decimal port 0x3f8 */
	assert_int_equal(c.serial.parity, 's');
	assert_int_equal(c.serial.port, 0x3f8);
	assert_int_equal(c.n_warnings, 0);
}

static void test_serial_bad_baud_keeps_default(void **state)
{
	(void)state;
	parse("serial=abc");
	assert_default_serial();
	assert_one_warning("cmdline: serial=abc: bad baud rate 'abc', using 115200");

	static const char *const bad[] = {
		"serial=", "serial=600", "serial=230400", "serial=7000",
		"serial=0", "serial=-9600", "serial=0x", "serial=99999999999999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(bad[i]);
		assert_default_serial();
		assert_int_equal(c.n_warnings, 1);
		assert_non_null(strstr(c.warnings[0], "bad baud rate"));
	}
}

static void test_serial_bad_fields_keep_their_value(void **state)
{
	static const char *const bad_dps[] = {
		"9600,", "9600,8x1", "9600,9n1", "9600,4n1", "9600,8n3",
		"9600,8n0", "9600,8n", "9600,8n11", "9600,,0x2f8",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad_dps) / sizeof(bad_dps[0]); i++) {
		char line[64];

		snprintf(line, sizeof(line), "serial=%s", bad_dps[i]);
		parse(line);
		assert_int_equal(c.serial.baud, 9600);
		assert_int_equal(c.serial.data_bits, 8);
		assert_int_equal(c.serial.parity, 'n');
		assert_int_equal(c.serial.stop_bits, 1);
		assert_true(c.n_warnings >= 1);
		assert_non_null(strstr(c.warnings[0], "bad format"));
	}
	parse("serial=9600,8x1");
	assert_one_warning("cmdline: serial=9600,8x1: bad format '8x1', using 8n1");

	parse("serial=19200,7n1,0x10000");
	assert_int_equal(c.serial.baud, 19200);
	assert_int_equal(c.serial.data_bits, 7);
	assert_int_equal(c.serial.port, 0x3f8);
	assert_one_warning("cmdline: serial=19200,7n1,0x10000: bad I/O port '0x10000', using 0x3f8");
	static const char *const bad_ports[] = {
		"serial=9600,8n1,0", "serial=9600,8n1,0xfff9", "serial=9600,8n1,3f8",
		"serial=9600,8n1,", "serial=9600,8n1,0x",
	};
	for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
		parse(bad_ports[i]);
		assert_int_equal(c.serial.port, 0x3f8);
		assert_int_equal(c.n_warnings, 1);
		assert_non_null(strstr(c.warnings[0], "bad I/O port"));
	}
	parse("serial=9600,8n1,0xfff8");
	assert_int_equal(c.serial.port, 0xfff8);
	assert_int_equal(c.n_warnings, 0);
}

static void test_serial_trailing_field_warns(void **state)
{
	(void)state;
	parse("serial=9600,8n1,0x2f8,junk");
	assert_int_equal(c.serial.port, 0x2f8);
	assert_one_warning("cmdline: serial=9600,8n1,0x2f8,junk: ignoring 'junk' after the I/O port");
}

static void test_boot_drive(void **state)
{
	(void)state;
	parse("boot_drive=143");
	assert_int_equal(c.boot_drive, 0x8f);
	assert_int_equal(c.n_warnings, 0);
	static const char *const bad[] = {
		"boot_drive=0x7f", "boot_drive=0x90", "boot_drive=", "boot_drive=hd0",
		"boot_drive=0x", "boot_drive=0x180",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(bad[i]);
		assert_int_equal(c.boot_drive, 0x80);
		assert_int_equal(c.n_warnings, 1);
	}
	assert_string_equal(c.warnings[0],
			    "cmdline: boot_drive=0x180: not a BIOS hard disk 0x80..0x8f, using 0x80");
}

static void test_loglvl_and_e9(void **state)
{
	static const char *const names[] = { "error", "warn", "info", "debug", "trace" };

	(void)state;
	for (int i = 0; i < 5; i++) {
		char line[32];

		snprintf(line, sizeof(line), "loglvl=%s", names[i]);
		parse(line);
		assert_int_equal(c.loglvl, i);
	}
	parse("loglvl=verbose");
	assert_int_equal(c.loglvl, LOG_INFO);
	assert_one_warning("cmdline: loglvl=verbose: expected error|warn|info|debug|trace, using info");
	parse("loglvl=INFO loglvl=debugx loglvl=");
	assert_int_equal(c.loglvl, LOG_INFO);
	assert_int_equal(c.n_warnings, 3);
	parse("e9=on e9=off");
	assert_false(c.e9);
	parse("e9=on e9=1");
	assert_true(c.e9);
	assert_one_warning("cmdline: e9=1: expected on or off, using on");
}

static void test_evlog_period(void **state)
{
	(void)state;
	parse("");
	assert_int_equal(c.evlog_period, 0);
	parse("evlog_period=200000000");
	assert_int_equal(c.evlog_period, 200000000);
	assert_int_equal(c.n_warnings, 0);
	assert_int_equal(c.n_extra, 0);
	parse("evlog_period=0x1000 evlog_period=soon");
	assert_int_equal(c.evlog_period, 0x1000);
	assert_one_warning("cmdline: evlog_period=soon: not a number of TSC ticks, using 4096");
}

static void test_netlog(void **state)
{
	(void)state;
	parse("");
	assert_false(c.netlog.on);
	parse("netlog=e1000,10.0.2.15,10.0.2.2:5140");
	assert_int_equal(c.n_warnings, 0);
	assert_int_equal(c.n_extra, 0);
	assert_true(c.netlog.on);
	assert_true(c.netlog.any_e1000);
	assert_int_equal(c.netlog.ip, 0x0a00020f);
	assert_int_equal(c.netlog.dest_ip, 0x0a000202);
	assert_int_equal(c.netlog.dest_port, 5140);
	parse("netlog=03:1F.7,192.168.1.200,255.255.255.254:65535");
	assert_int_equal(c.n_warnings, 0);
	assert_true(c.netlog.on);
	assert_false(c.netlog.any_e1000);
	assert_int_equal(c.netlog.bdf, 3 << 8 | 0x1f << 3 | 7);
	assert_int_equal(c.netlog.ip, 0xc0a801c8);
	assert_int_equal(c.netlog.dest_ip, 0xfffffffe);
	assert_int_equal(c.netlog.dest_port, 65535);
}

/* Every malformed field turns the channel off (also after a good netlog=)
 * with one warning naming the field. */
static void test_netlog_bad_values_turn_it_off(void **state)
{
	static const struct {
		const char *value, *field;
	} bad[] = {
		{ "", "NIC (e1000 or a PCI address BB:DD.F)" },
		{ "e1001,10.0.2.15,10.0.2.2:1", "NIC (e1000 or a PCI address BB:DD.F)" },
		{ "00:20.0,10.0.2.15,10.0.2.2:1", "NIC (e1000 or a PCI address BB:DD.F)" },
		{ "00:04.8,10.0.2.15,10.0.2.2:1", "NIC (e1000 or a PCI address BB:DD.F)" },
		{ "0:04.0,10.0.2.15,10.0.2.2:1", "NIC (e1000 or a PCI address BB:DD.F)" },
		{ "e1000", "IP address" },
		{ "e1000,10.0.2,10.0.2.2:1", "IP address" },
		{ "e1000,10.0.2.256,10.0.2.2:1", "IP address" },
		{ "e1000,10.0.2.1.5,10.0.2.2:1", "IP address" },
		{ "e1000,10..2.1,10.0.2.2:1", "IP address" },
		{ "e1000,0x0a.0.2.1,10.0.2.2:1", "IP address" },
		{ "e1000,0.0.0.0,10.0.2.2:1", "IP address" },
		{ "e1000,255.255.255.255,10.0.2.2:1", "IP address" },
		{ "e1000,10.0.2.15", "destination (DEST_IP:PORT)" },
		{ "e1000,10.0.2.15,10.0.2.2", "destination (DEST_IP:PORT)" },
		{ "e1000,10.0.2.15,10.0.2.2:", "destination (DEST_IP:PORT)" },
		{ "e1000,10.0.2.15,10.0.2.2:0", "destination (DEST_IP:PORT)" },
		{ "e1000,10.0.2.15,10.0.2.2:65536", "destination (DEST_IP:PORT)" },
		{ "e1000,10.0.2.15,10.0.2.2:0x10", "destination (DEST_IP:PORT)" },
		{ "e1000,10.0.2.15,10.0.2.2:-1", "destination (DEST_IP:PORT)" },
		{ "e1000,10.0.2.15,10.0.2:80", "destination (DEST_IP:PORT)" },
		{ "e1000,10.0.2.15,10.0.2.2:80,x", "field count (NIC,IP,DEST_IP:PORT)" },
	};
	char line[128], expected[CMDLINE_WARNING_LEN];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(line, sizeof(line), "netlog=e1000,10.0.2.15,10.0.2.2:5140 netlog=%s", bad[i].value);
		parse(line);
		snprintf(expected, sizeof(expected), "cmdline: netlog=%s: bad %s, the network log is off",
			 bad[i].value, bad[i].field);
		assert_one_warning(expected);
		assert_false(c.netlog.on);
	}
}

static void test_later_occurrence_overrides(void **state)
{
	(void)state;
	parse("serial=9600 loglvl=error serial=38400 loglvl=warn x=1 x=2");
	assert_int_equal(c.serial.baud, 38400);
	assert_int_equal(c.loglvl, LOG_WARN);
	assert_int_equal(c.n_extra, 1);
	assert_string_equal(cmdline_extra(&c, "x"), "2");
}

static void test_a_bad_later_value_keeps_the_earlier(void **state)
{
	(void)state;
	parse("serial=9600 serial=abc");
	assert_int_equal(c.serial.baud, 9600);
	assert_one_warning("cmdline: serial=abc: bad baud rate 'abc', using 9600");
}

static void test_extra_keys(void **state)
{
	(void)state;
	parse("  hypapp=tv \tdebug_x=0x10\nempty= a=b=c ");
	assert_int_equal(c.n_warnings, 0);
	assert_int_equal(c.n_extra, 4);
	assert_string_equal(cmdline_extra(&c, "hypapp"), "tv");
	assert_string_equal(cmdline_extra(&c, "debug_x"), "0x10");
	assert_string_equal(cmdline_extra(&c, "empty"), "");
	assert_string_equal(cmdline_extra(&c, "a"), "b=c");
	assert_null(cmdline_extra(&c, "hyp"));
	assert_null(cmdline_extra(&c, "serial"));
}

static void test_extra_limits(void **state)
{
	char line[1024];
	char key[CMDLINE_KEY_LEN + 1];
	char value[CMDLINE_VALUE_LEN + 1];

	(void)state;
	/* longest key and value that fit */
	memset(key, 'k', CMDLINE_KEY_LEN - 1);
	key[CMDLINE_KEY_LEN - 1] = '\0';
	memset(value, 'v', CMDLINE_VALUE_LEN - 1);
	value[CMDLINE_VALUE_LEN - 1] = '\0';
	snprintf(line, sizeof(line), "%s=%s", key, value);
	parse(line);
	assert_int_equal(c.n_warnings, 0);
	assert_string_equal(cmdline_extra(&c, key), value);

	/* one byte longer: ignored with a warning */
	strcat(key, "k");
	snprintf(line, sizeof(line), "%s=1", key);
	parse(line);
	assert_int_equal(c.n_extra, 0);
	assert_int_equal(c.n_warnings, 1);
	assert_non_null(strstr(c.warnings[0], "longer than 31 bytes"));
	strcat(value, "v");
	snprintf(line, sizeof(line), "k=%s", value);
	parse(line);
	assert_int_equal(c.n_extra, 0);
	assert_one_warning("cmdline: value of 'k' longer than 127 bytes, ignored");

	/* table full */
	line[0] = '\0';
	for (int i = 0; i <= CMDLINE_MAX_EXTRA; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "k%d=%d ", i, i);
	parse(line);
	assert_int_equal(c.n_extra, CMDLINE_MAX_EXTRA);
	assert_string_equal(cmdline_extra(&c, "k15"), "15");
	assert_null(cmdline_extra(&c, "k16"));
	assert_one_warning("cmdline: more than 16 other options, 'k16' ignored");
	/* a key already present can still be overridden when full */
	strcat(line, "k3=new");
	parse(line);
	assert_string_equal(cmdline_extra(&c, "k3"), "new");
}

static void test_words_without_equals(void **state)
{
	(void)state;
	parse("/boot/xmhf.bin serial=9600");
	assert_int_equal(c.serial.baud, 9600);
	assert_int_equal(c.n_warnings, 0);
	parse("serial=9600 /boot/xmhf.bin");  /* only a first word is a path */
	assert_one_warning("cmdline: '/boot/xmhf.bin' ignored: expected key=value");
	parse("quiet");
	assert_one_warning("cmdline: 'quiet' ignored: expected key=value");
	parse("=5");
	assert_one_warning("cmdline: '=5' ignored: empty key");
	assert_int_equal(c.n_extra, 0);
}

static void test_warning_overflow_is_counted_and_bounded(void **state)
{
	char line[4096] = "";

	(void)state;
	for (int i = 0; i < 12; i++)
		strcat(line, "w ");
	parse(line);
	assert_int_equal(c.n_warnings, 12);
	for (int i = 0; i < CMDLINE_MAX_WARNINGS; i++)
		assert_string_equal(c.warnings[i], "cmdline: 'w' ignored: expected key=value");

	/* a huge bad value: the warning is truncated, never overflows */
	strcpy(line, "serial=");
	memset(line + 7, '9', 2000);
	line[2007] = '\0';
	parse(line);
	assert_int_equal(c.n_warnings, 1);
	assert_int_equal(strlen(c.warnings[0]), CMDLINE_WARNING_LEN - 1);
	assert_memory_equal(c.warnings[0], "cmdline: serial=999", 19);
}

static void test_survives_garbage(void **state)
{
	char line[257];

	(void)state;
	srand(1);
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)rand() % 256;

		for (size_t i = 0; i < len; i++) {
			static const char alphabet[] = "serial=,0x9x8n1 \t=boot_drive/loglvl=e9=on";

			line[i] = rand() % 4 ? alphabet[rand() % (sizeof(alphabet) - 1)]
					     : (char)(1 + rand() % 255);
		}
		line[len] = '\0';
		parse(line);
		assert_true(c.n_extra <= CMDLINE_MAX_EXTRA);
		assert_true(c.serial.baud >= 1200 && 115200 % c.serial.baud == 0);
		assert_true(c.boot_drive >= 0x80 && c.boot_drive <= 0x8f);
		for (u32 i = 0; i < c.n_warnings && i < CMDLINE_MAX_WARNINGS; i++)
			assert_true(strlen(c.warnings[i]) < CMDLINE_WARNING_LEN);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_null_empty_and_blank_give_defaults),
		cmocka_unit_test(test_all_known_keys),
		cmocka_unit_test(test_serial_partial_forms),
		cmocka_unit_test(test_serial_bad_baud_keeps_default),
		cmocka_unit_test(test_serial_bad_fields_keep_their_value),
		cmocka_unit_test(test_serial_trailing_field_warns),
		cmocka_unit_test(test_boot_drive),
		cmocka_unit_test(test_loglvl_and_e9),
		cmocka_unit_test(test_evlog_period),
		cmocka_unit_test(test_netlog),
		cmocka_unit_test(test_netlog_bad_values_turn_it_off),
		cmocka_unit_test(test_later_occurrence_overrides),
		cmocka_unit_test(test_a_bad_later_value_keeps_the_earlier),
		cmocka_unit_test(test_extra_keys),
		cmocka_unit_test(test_extra_limits),
		cmocka_unit_test(test_words_without_equals),
		cmocka_unit_test(test_warning_overflow_is_counted_and_bounded),
		cmocka_unit_test(test_survives_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
