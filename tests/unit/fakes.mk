# The fake backend every runtime unit test links (README.md), for tests/unit/Makefile and the
# hypapps' test Makefiles. Set UNIT (this directory), RUNTIME, LIB and ROOT first.
# The handlers call the hypapp's hooks: the core's weak defaults (a test's own hooks replace them).
HYPAPP_DEFAULTS := $(RUNTIME)/hypapp_defaults.c
FAKES := $(UNIT)/fake_cpu.c $(UNIT)/runtime_stubs.c $(UNIT)/task_switch_stub.c $(RUNTIME)/guest_ram.c \
	$(RUNTIME)/cpu_index.c $(LIB)/percpu_index.c $(HYPAPP_DEFAULTS) $(RUNTIME)/xcall.c
