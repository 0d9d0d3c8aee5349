// Thin shim over Debian's OpenSSL 3: includes plus the macros and stack
// types that Swift cannot see, turned into static inline functions.
#ifndef SCEPTER_COPENSSL_SHIM_H
#define SCEPTER_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

static inline long scepter_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

static inline STACK_OF(X509) *scepter_sk_X509_new_null(void) { return sk_X509_new_null(); }
static inline int scepter_sk_X509_push(STACK_OF(X509) *stack, X509 *cert) { return sk_X509_push(stack, cert); }
static inline int scepter_sk_X509_num(const STACK_OF(X509) *stack) { return sk_X509_num(stack); }
static inline X509 *scepter_sk_X509_value(const STACK_OF(X509) *stack, int i) { return sk_X509_value(stack, i); }
static inline void scepter_sk_X509_pop_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }
static inline void scepter_sk_X509_free(STACK_OF(X509) *stack) { sk_X509_free(stack); }

static inline int scepter_sk_X509_CRL_num(const STACK_OF(X509_CRL) *stack) { return sk_X509_CRL_num(stack); }
static inline X509_CRL *scepter_sk_X509_CRL_value(const STACK_OF(X509_CRL) *stack, int i) { return sk_X509_CRL_value(stack, i); }
static inline void scepter_sk_X509_CRL_pop_free(STACK_OF(X509_CRL) *stack) { sk_X509_CRL_pop_free(stack, X509_CRL_free); }

static inline int scepter_sk_CMS_SignerInfo_num(STACK_OF(CMS_SignerInfo) *stack) {
    return sk_CMS_SignerInfo_num(stack);
}
static inline CMS_SignerInfo *scepter_sk_CMS_SignerInfo_value(STACK_OF(CMS_SignerInfo) *stack, int i) {
    return sk_CMS_SignerInfo_value(stack, i);
}
static inline int scepter_sk_CMS_RecipientInfo_num(STACK_OF(CMS_RecipientInfo) *stack) {
    return sk_CMS_RecipientInfo_num(stack);
}
static inline CMS_RecipientInfo *scepter_sk_CMS_RecipientInfo_value(STACK_OF(CMS_RecipientInfo) *stack, int i) {
    return sk_CMS_RecipientInfo_value(stack, i);
}

/// The content-encryption algorithm of a PKCS#7 EnvelopedData (the CMS API has no getter).
static inline int scepter_PKCS7_enveloped_cipher_nid(PKCS7 *p7) {
    if (p7 == NULL || !PKCS7_type_is_enveloped(p7) || p7->d.enveloped == NULL
        || p7->d.enveloped->enc_data == NULL || p7->d.enveloped->enc_data->algorithm == NULL) {
        return NID_undef;
    }
    return OBJ_obj2nid(p7->d.enveloped->enc_data->algorithm->algorithm);
}

/// The key-transport algorithm of the first recipient (rsaEncryption or rsaesOaep).
static inline int scepter_PKCS7_enveloped_keytransport_nid(PKCS7 *p7) {
    if (p7 == NULL || !PKCS7_type_is_enveloped(p7) || p7->d.enveloped == NULL) {
        return NID_undef;
    }
    STACK_OF(PKCS7_RECIP_INFO) *ris = p7->d.enveloped->recipientinfo;
    if (ris == NULL || sk_PKCS7_RECIP_INFO_num(ris) < 1) {
        return NID_undef;
    }
    PKCS7_RECIP_INFO *ri = sk_PKCS7_RECIP_INFO_value(ris, 0);
    if (ri == NULL || ri->key_enc_algor == NULL) {
        return NID_undef;
    }
    return OBJ_obj2nid(ri->key_enc_algor->algorithm);
}

/// The value of a single-valued attribute as raw string bytes (any ASN.1 string type or OCTET STRING).
static inline const ASN1_STRING *scepter_X509_ATTRIBUTE_string(X509_ATTRIBUTE *attr) {
    if (attr == NULL || X509_ATTRIBUTE_count(attr) < 1) {
        return NULL;
    }
    ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(attr, 0);
    if (t == NULL) {
        return NULL;
    }
    switch (t->type) {
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_UTF8STRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_T61STRING:
    case V_ASN1_OCTET_STRING:
    case V_ASN1_BMPSTRING:
    case V_ASN1_UNIVERSALSTRING:
    case V_ASN1_VISIBLESTRING:
        return t->value.asn1_string;
    default:
        return NULL;
    }
}

static inline int scepter_ERR_get_error_all(const char **file, int *line) {
    return (int)ERR_get_error_all(file, line, NULL, NULL, NULL);
}

/* RSA through its own API rather than EVP_PKEY_CTX: OpenSSL 3.0 fetches the
 * signature or cipher algorithm from its provider on every EVP_PKEY_CTX
 * initialisation, which costs more than the public-key operation itself.
 * These functions are deprecated in 3.0 but kept by it; they run the same
 * padding and key code as the provider. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/// The RSA key inside `pkey` (for a provider key, a copy OpenSSL caches with it); NULL for any other key.
static inline const RSA *scepter_EVP_PKEY_get0_RSA(EVP_PKEY *pkey) {
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
        return NULL;
    }
    return EVP_PKEY_get0_RSA(pkey);
}
static inline int scepter_RSA_size(const RSA *rsa) { return RSA_size(rsa); }
/// PKCS #1 v1.5 signature over a digest made with the digest `nid`.
static inline int scepter_RSA_sign(int nid, const unsigned char *digest, unsigned int length,
                                   unsigned char *signature, unsigned int *signatureLength, const RSA *rsa) {
    return RSA_sign(nid, digest, length, signature, signatureLength, (RSA *)rsa);
}
static inline int scepter_RSA_verify(int nid, const unsigned char *digest, unsigned int length,
                                     const unsigned char *signature, unsigned int signatureLength, const RSA *rsa) {
    return RSA_verify(nid, digest, length, signature, signatureLength, (RSA *)rsa);
}
/// PKCS #1 v1.5 (type 2) encryption and decryption: the length written, or -1.
static inline int scepter_RSA_public_encrypt_pkcs1(int length, const unsigned char *from, unsigned char *to, const RSA *rsa) {
    return RSA_public_encrypt(length, from, to, (RSA *)rsa, RSA_PKCS1_PADDING);
}
static inline int scepter_RSA_private_decrypt_pkcs1(int length, const unsigned char *from, unsigned char *to, const RSA *rsa) {
    return RSA_private_decrypt(length, from, to, (RSA *)rsa, RSA_PKCS1_PADDING);
}

#pragma GCC diagnostic pop

#endif
