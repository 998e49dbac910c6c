/*
 * The tutorial's Timer: call a function after a delay, unless cancelled
 * first. Here one reminder fires, one is cancelled in time, and 10,000
 * more wait at once without a thread each.
 */
#include <cthreading.h>
#include <stdio.h>

static int fired;

static void remind(void *message)
{
    fired++;
    printf("timer: %s\n", (const char *)message);
}

static void count(void *arg)
{
    __atomic_fetch_add((int *)arg, 1, __ATOMIC_RELAXED);
}

int main(void)
{
    ct_timer_t *tea = ct_timer_new(0.3, remind, "the tea is ready");
    ct_timer_t *meeting = ct_timer_new(0.2, remind, "meeting starts (never shown)");
    if (!tea || !meeting || ct_timer_start(tea) || ct_timer_start(meeting)) {
        perror("timer: cannot start a timer");
        return 1;
    }
    ct_timer_cancel(meeting);
    printf("timer: reminders set; the meeting one cancelled\n");
    ct_timer_join(tea);
    ct_timer_free(tea);
    ct_timer_free(meeting);

    enum { MANY = 10000 };
    static ct_timer_t *many[MANY];
    int counted = 0;
    for (int i = 0; i < MANY; i++) {
        many[i] = ct_timer_new(0.1 + i * 1e-5, count, &counted);
        if (!many[i] || ct_timer_start(many[i])) {
            perror("timer: cannot start a timer");
            return 1;
        }
    }
    printf("timer: %d more timers pending; ct_active_count() is still %zu\n", MANY,
           ct_active_count());
    for (int i = 0; i < MANY; i++) {
        ct_timer_join(many[i]);
        ct_timer_free(many[i]);
    }
    printf("timer: all %d fired\n", counted);
    return fired == 1 && counted == MANY ? 0 : 1;
}
