/* A program that uses the installed cthreading as any user would. */
#include <cthreading.h>
#include <stdio.h>

static ct_lock_t lock = CT_LOCK_INIT;
static long counter;

int main(void)
{
    for (int i = 0; i < 1000; i++) {
        CT_WITH(&lock) {
            counter++;
        }
    }
    if (counter != 1000 || ct_lock_locked(&lock)) {
        fprintf(stderr, "consumer: wrong count %ld\n", counter);
        return 1;
    }
    printf("consumer: ok (%s)\n", ct_strerror(CT_EBROKEN));
    return 0;
}
