/* Built against libplacement-dev by test_dev.py with libplacement-collect.a
 * and -lplacement: print the names of the built-in collectors. */
#include <libplacement.h>
#include <libplacement/collect.h>

#include <stdio.h>

int main(void)
{
    const lp_collector_ops *ops;
    for (size_t i = 0; (ops = lp_collector_builtin(i)) != NULL; i++)
        printf("%s\n", ops->name);
    return lp_collector_find(NULL, "proc", &ops) == LP_OK ? 0 : 1;
}
