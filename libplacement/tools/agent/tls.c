/* TLS: the certificate, key and client CA files, checked before the server starts. */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"

/* Large enough for a long chain or CA bundle, small enough to refuse a wrong file. */
#define PEM_MAX (1024 * 1024)

/* Certificates of a PEM file: the number found, or -1 with a message. */
static int load_certs(const char *what, const char *path, const char *pem, size_t len, gnutls_x509_crt_t **crts,
                      char *err, size_t errlen)
{
    gnutls_datum_t d = {(unsigned char *)pem, (unsigned)len};
    unsigned n = 0;
    int rc = gnutls_x509_crt_list_import2(crts, &n, &d, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || n == 0) {
        snprintf(err, errlen, "%s %s: no PEM certificate (%s)", what, path,
                 rc < 0 ? gnutls_strerror(rc) : "none found");
        return -1;
    }
    return (int)n;
}

static void free_certs(gnutls_x509_crt_t *crts, int n)
{
    for (int i = 0; i < n; i++)
        gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
}

/* A PEM file that is not secret: regular file, bounded size. */
static int read_public(const char *what, const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    char *b = malloc(PEM_MAX + 1);
    size_t n = b ? fread(b, 1, PEM_MAX + 1, f) : 0;
    int bad = !b || ferror(f) || n > PEM_MAX;
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s %s: %s", what, path,
                 !b ? "out of memory" : n > PEM_MAX ? "larger than 1 MiB" : "read error");
        free(b);
        return -1;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

/* Warn about a certificate that clients will refuse for its dates. */
static void check_dates(const agent_config *c, gnutls_x509_crt_t crt)
{
    time_t now = time(NULL), from = gnutls_x509_crt_get_activation_time(crt),
           until = gnutls_x509_crt_get_expiration_time(crt);
    char when[32];
    struct tm tm;
    if (until != (time_t)-1 && until < now) {
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", gmtime_r(&until, &tm));
        agent_log(c, LOG_WARN_, "tls-cert %s expired on %s: clients will refuse it", c->tls_cert, when);
    } else if (from != (time_t)-1 && from > now) {
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", gmtime_r(&from, &tm));
        agent_log(c, LOG_WARN_, "tls-cert %s is valid only from %s: clients will refuse it until then",
                  c->tls_cert, when);
    }
}

int agent_tls_load(const agent_config *c, agent_tls *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (!c->tls_cert[0])
        return 0;
    gnutls_x509_crt_t *crts = NULL, *cas = NULL;
    gnutls_x509_privkey_t key = NULL;
    gnutls_certificate_credentials_t cred = NULL;
    int ncrts = 0, ncas = 0, rc = -1;
    size_t cert_len, ca_len;
    if (read_public("tls-cert", c->tls_cert, &t->cert, &cert_len, err, errlen) < 0 ||
        agent_secret_read("tls-key", c->tls_key, PEM_MAX, &t->key, &t->key_len, err, errlen) < 0 ||
        (c->tls_client_ca[0] &&
         read_public("tls-client-ca", c->tls_client_ca, &t->client_ca, &ca_len, err, errlen) < 0))
        goto out;
    if ((ncrts = load_certs("tls-cert", c->tls_cert, t->cert, cert_len, &crts, err, errlen)) < 0)
        goto out;
    if (t->client_ca &&
        (ncas = load_certs("tls-client-ca", c->tls_client_ca, t->client_ca, ca_len, &cas, err, errlen)) < 0)
        goto out;
    gnutls_datum_t kd = {(unsigned char *)t->key, (unsigned)t->key_len};
    int g = gnutls_x509_privkey_init(&key);
    if (g >= 0)
        g = gnutls_x509_privkey_import2(key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (g < 0) {
        snprintf(err, errlen, "tls-key %s: not an unencrypted PEM private key (%s)", c->tls_key,
                 gnutls_strerror(g));
        goto out;
    }
    /* What libmicrohttpd will do with them: this finds a key of another certificate. */
    gnutls_datum_t cd = {(unsigned char *)t->cert, (unsigned)cert_len};
    g = gnutls_certificate_allocate_credentials(&cred);
    if (g >= 0)
        g = gnutls_certificate_set_x509_key_mem2(cred, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (g == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
        snprintf(err, errlen, "tls-key %s is not the key of the certificate in tls-cert %s", c->tls_key,
                 c->tls_cert);
        goto out;
    }
    if (g < 0) {
        snprintf(err, errlen, "tls-cert %s with tls-key %s: %s", c->tls_cert, c->tls_key, gnutls_strerror(g));
        goto out;
    }
    check_dates(c, crts[0]);
    rc = 0;
out:
    if (crts)
        free_certs(crts, ncrts);
    if (cas)
        free_certs(cas, ncas);
    if (key)
        gnutls_x509_privkey_deinit(key);
    if (cred)
        gnutls_certificate_free_credentials(cred);
    if (rc < 0)
        agent_tls_free(t);
    return rc;
}

void agent_tls_free(agent_tls *t)
{
    free(t->cert);
    free(t->client_ca);
    agent_secret_free(t->key, t->key_len);
    memset(t, 0, sizeof *t);
}

int agent_tls_peer_verified(void *session)
{
    unsigned status = 0;
    /* Checks the chain against the trust list libmicrohttpd was given
     * (--tls-client-ca); fails when the client sent no certificate. */
    return session && gnutls_certificate_verify_peers2(session, &status) >= 0 && status == 0;
}
