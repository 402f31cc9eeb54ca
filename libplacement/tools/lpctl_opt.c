/* lpctl: options as "--name value" or "--name=value" (lpctl_opt.h). */
#include "lpctl_opt.h"

#include <string.h>

void lpctl_opt_split(const char *arg, lpctl_opt *o)
{
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n >= sizeof o->name) {
        /* no option name is this long: keep it whole for the message */
        n = sizeof o->name - 1;
        eq = NULL;
    }
    memcpy(o->name, arg, n);
    o->name[n] = '\0';
    o->value = eq ? eq + 1 : NULL;
}

const char *lpctl_opt_value(const lpctl_opt *o, int argc, char **argv, int *i)
{
    if (o->value)
        return o->value;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

const char *lpctl_opt_find(const char *name, const char *const *names)
{
    for (size_t k = 0; names[k]; k++)
        if (strcmp(name, names[k]) == 0)
            return names[k];
    return NULL;
}
