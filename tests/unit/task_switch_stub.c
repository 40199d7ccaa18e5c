/* Weak stand-in for task_switch_emulate (vmexit.c dispatches to it) in the
 * test programs that do not link task_switch.c: calling it fails the test. */
#include "fake_cpu.h"
#include <runtime/task_switch.h>

__attribute__((weak)) void task_switch_emulate(struct guest_regs *regs)
{
	(void)regs;
	mock_assert(0, "task_switch_emulate", __FILE__, __LINE__);
}
