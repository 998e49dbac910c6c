/* Names for error numbers: the library's own, then whatever libc knows. */
#include <cthreading.h>

#include <string.h>

const char *ct_strerror(int err)
{
    switch (err) {
    case 0:
        return "Success";
    case CT_EBROKEN:
        return "Broken barrier";
    default:
        return strerror(err);
    }
}
