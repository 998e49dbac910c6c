/* What the thread layer needs of ct_local_t. */
#ifndef CT_LOCAL_INTERNAL_H
#define CT_LOCAL_INTERNAL_H

/* Destroys the calling thread's values (a thread that is ending). */
void ct__local_exit(void);

#endif
