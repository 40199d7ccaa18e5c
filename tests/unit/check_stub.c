/* Host version of the hypervisor's CHECK failure: a CMocka assertion, so a
 * test can expect it with expect_assert_failure() and any other fails. */
#include "unit.h"
#include <stdlib.h>
#include <xmhf/check.h>

void check_failed(const char *file, int line, const char *cond)
{
	mock_assert(0, cond, file, line);
	abort();  /* not reached: mock_assert jumps out of the test */
}
