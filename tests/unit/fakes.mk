# The fake backend every runtime unit test links (README.md), for tests/unit/Makefile and the
# hypapps' test Makefiles. Set UNIT (this directory), RUNTIME, LIB and ROOT first.
# The handlers call the hypapp's hooks: --app none's (test_hypapp filters it out for its own).
NONE_APP := $(ROOT)/hypapps/none/none.c
FAKES := $(UNIT)/fake_cpu.c $(UNIT)/runtime_stubs.c $(UNIT)/task_switch_stub.c $(RUNTIME)/guest_ram.c \
	$(RUNTIME)/cpu_index.c $(LIB)/percpu_index.c $(NONE_APP) $(RUNTIME)/xcall.c
