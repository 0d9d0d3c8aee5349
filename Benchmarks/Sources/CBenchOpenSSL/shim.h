// Debian's OpenSSL 3 for the harness: includes plus the macros Swift cannot
// see, as static inline functions.
#ifndef SCEPTER_BENCH_OPENSSL_SHIM_H
#define SCEPTER_BENCH_OPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static inline long bench_BIO_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

static inline STACK_OF(X509) *bench_sk_X509_new_null(void) { return sk_X509_new_null(); }
static inline int bench_sk_X509_push(STACK_OF(X509) *stack, X509 *cert) { return sk_X509_push(stack, cert); }
static inline int bench_sk_X509_num(const STACK_OF(X509) *stack) { return sk_X509_num(stack); }
static inline X509 *bench_sk_X509_value(const STACK_OF(X509) *stack, int i) { return sk_X509_value(stack, i); }
static inline void bench_sk_X509_pop_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }

static inline int bench_sk_CMS_SignerInfo_num(STACK_OF(CMS_SignerInfo) *stack) { return sk_CMS_SignerInfo_num(stack); }
static inline CMS_SignerInfo *bench_sk_CMS_SignerInfo_value(STACK_OF(CMS_SignerInfo) *stack, int i) {
    return sk_CMS_SignerInfo_value(stack, i);
}

/// The value of the first signer's single-valued signed attribute `oid` as
/// raw string bytes, or NULL.
static inline const ASN1_STRING *bench_CMS_signed_attribute(CMS_SignerInfo *si, const ASN1_OBJECT *oid) {
    int index = CMS_signed_get_attr_by_OBJ(si, oid, -1);
    if (index < 0) return NULL;
    X509_ATTRIBUTE *attr = CMS_signed_get_attr(si, index);
    if (attr == NULL || X509_ATTRIBUTE_count(attr) < 1) return NULL;
    ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(attr, 0);
    if (t == NULL) return NULL;
    switch (t->type) {
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_UTF8STRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_OCTET_STRING:
        return t->value.asn1_string;
    default:
        return NULL;
    }
}

/* RSA's own API, as the server uses it (Sources/COpenSSL/shim.h): no
 * provider fetch per operation. Deprecated in OpenSSL 3.0, still there. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static inline const RSA *bench_EVP_PKEY_get0_RSA(EVP_PKEY *pkey) {
    return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA ? EVP_PKEY_get0_RSA(pkey) : NULL;
}
static inline int bench_RSA_size(const RSA *rsa) { return RSA_size(rsa); }
static inline int bench_RSA_sign(int nid, const unsigned char *m, unsigned int mlen, unsigned char *sig, unsigned int *siglen, const RSA *rsa) {
    return RSA_sign(nid, m, mlen, sig, siglen, (RSA *)rsa);
}
static inline int bench_RSA_verify(int nid, const unsigned char *m, unsigned int mlen, const unsigned char *sig, unsigned int siglen, const RSA *rsa) {
    return RSA_verify(nid, m, mlen, sig, siglen, (RSA *)rsa);
}
static inline int bench_RSA_public_encrypt_pkcs1(int flen, const unsigned char *from, unsigned char *to, const RSA *rsa) {
    return RSA_public_encrypt(flen, from, to, (RSA *)rsa, RSA_PKCS1_PADDING);
}
static inline int bench_RSA_private_decrypt_pkcs1(int flen, const unsigned char *from, unsigned char *to, const RSA *rsa) {
    return RSA_private_decrypt(flen, from, to, (RSA *)rsa, RSA_PKCS1_PADDING);
}
#pragma GCC diagnostic pop

#endif
