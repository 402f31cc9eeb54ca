/* Secret files (bearer token, TLS key) and the bearer-token check. */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define TOKEN_FILE_MAX (64 * 1024)

int agent_secret_read(const char *what, const char *path, size_t max, char **buf, size_t *len, char *err,
                      size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    /* Checked on the open file, so that what is read is what was checked. */
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        close(fd);
        return -1;
    }
    int bad = 1;
    if (!S_ISREG(st.st_mode))
        snprintf(err, errlen, "%s %s: not a regular file", what, path);
    else if (st.st_uid != 0 && st.st_uid != geteuid())
        snprintf(err, errlen, "%s %s: owned by uid %u; it must belong to root or to the agent's user (uid %u)",
                 what, path, (unsigned)st.st_uid, (unsigned)geteuid());
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        snprintf(err, errlen, "%s %s: accessible by group or others (mode %04o); chmod 600 it", what, path,
                 (unsigned)(st.st_mode & 07777));
    else if ((size_t)st.st_size > max)
        snprintf(err, errlen, "%s %s: %lld bytes, more than the %zu allowed", what, path,
                 (long long)st.st_size, max);
    else
        bad = 0;
    if (bad) {
        close(fd);
        return -1;
    }
    /* One byte more than allowed tells a file that grew since fstat. */
    char *b = malloc(max + 2);
    if (!b) {
        snprintf(err, errlen, "%s %s: out of memory", what, path);
        close(fd);
        return -1;
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, b + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
            close(fd);
            agent_secret_free(b, n);
            return -1;
        }
        if (r == 0 || (n += (size_t)r) > max)
            break;
    }
    close(fd);
    if (n > max) {
        snprintf(err, errlen, "%s %s: more than the %zu bytes allowed", what, path, max);
        agent_secret_free(b, n);
        return -1;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

void agent_secret_free(char *buf, size_t len)
{
    if (!buf)
        return;
    /* volatile: the wipe of memory about to be freed must not be optimised away. */
    volatile char *v = buf;
    for (size_t i = 0; i < len; i++)
        v[i] = 0;
    free(buf);
}

static int token68_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '+' || c == '/';
}

/* token68 (RFC 7235), the syntax of a bearer token (RFC 6750):
 * 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
 * Returns the offset of the first byte that breaks it, or len. */
static size_t token68_end(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && token68_char(s[i]))
        i++;
    if (i == 0)
        return 0;
    while (i < len && s[i] == '=')
        i++;
    return i;
}

static void sha256(const char *s, size_t len, unsigned char out[32])
{
    /* Cannot fail for a built-in digest on memory given. */
    gnutls_hash_fast(GNUTLS_DIG_SHA256, s, len, out);
}

int agent_token_load(const char *path, agent_token *t, char *err, size_t errlen)
{
    char *b;
    size_t n;
    /* Read more than a token can hold, to say by how much it is too long. */
    if (agent_secret_read("token-file", path, TOKEN_FILE_MAX, &b, &n, err, errlen) < 0)
        return -1;
    size_t len = n;
    if (len && b[len - 1] == '\n')
        len--;
    if (len && b[len - 1] == '\r')
        len--;
    size_t end = token68_end(b, len);
    int rc = -1;
    if (len == 0)
        snprintf(err, errlen, "token-file %s: empty", path);
    else if (len > AGENT_TOKEN_MAX)
        snprintf(err, errlen, "token-file %s: the token has %zu bytes, more than the %d allowed", path, len,
                 AGENT_TOKEN_MAX);
    else if (end < len) {
        unsigned char c = (unsigned char)b[end];
        char shown[8];
        if (c > ' ' && c < 0x7f)
            snprintf(shown, sizeof shown, "'%c'", c);
        else
            snprintf(shown, sizeof shown, "0x%02x", c);
        snprintf(err, errlen,
                 "token-file %s: byte %zu is %s; a bearer token is letters, digits and -._~+/, possibly "
                 "ending in =, on one line (e.g. the output of openssl rand -hex 32)",
                 path, end + 1, shown);
    } else {
        t->set = 1;
        sha256(b, len, t->sha256);
        rc = 0;
    }
    agent_secret_free(b, n);
    return rc;
}

int agent_token_check(const agent_token *t, const char *value, size_t len)
{
    static const char scheme[] = "bearer";
    if (!t->set)
        return 1;
    if (!value || len < sizeof scheme)
        return 0;
    /* The scheme is case-insensitive (RFC 7235 section 2.1), then 1*SP. */
    for (size_t i = 0; i < sizeof scheme - 1; i++)
        if ((value[i] | 0x20) != scheme[i])
            return 0;
    size_t i = sizeof scheme - 1;
    if (value[i] != ' ')
        return 0;
    while (i < len && value[i] == ' ')
        i++;
    const char *tok = value + i;
    size_t n = len - i;
    /* Nothing may follow the token: no space, no second credential, no NUL. */
    if (n == 0 || n > AGENT_TOKEN_MAX || token68_end(tok, n) != n)
        return 0;
    unsigned char got[32];
    sha256(tok, n, got);
    /* Digests of equal length, compared in constant time: the time taken
     * tells neither the token's length nor how much of it matched. */
    unsigned char diff = 0;
    for (size_t k = 0; k < sizeof got; k++)
        diff |= (unsigned char)(got[k] ^ t->sha256[k]);
    return diff == 0;
}
