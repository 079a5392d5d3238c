/* The key hierarchy and object sealing.
 *
 * A random 256-bit token key (TK) is wrapped under a key derived from each PIN with
 * PBKDF2-HMAC-SHA256. From TK come three keys: one seals secret attributes (AES-256-GCM, AAD
 * binding the blob to its token and object), one tags every row (HMAC, so an offline edit or a
 * swapped row is caught), one hashes the label/ID index columns of private objects. */
#ifndef CRATON_STORE_SEAL_H
#define CRATON_STORE_SEAL_H
#include "object/attr.h"
#include "store/db.h"

struct seal_keys {
    uint8_t tk[32];
    uint8_t seal[32];
    uint8_t integ[32];
    uint8_t index[32];
};

/* Allocates keys in secure memory from a token key. */
struct seal_keys *seal_keys_new(const uint8_t tk[32]);
void seal_keys_free(struct seal_keys *k);

/* Sets a PIN record: fresh salt, verifier, and TK wrapped under the PIN's key. */
CK_RV seal_pin_set(struct pin_record *p, const uint8_t uuid[16], enum pin_role role,
                   const CK_UTF8CHAR *pin, CK_ULONG pinlen, unsigned long iterations,
                   const uint8_t tk[32]);
/* CKR_OK and TK in tk_out (secure memory, 32 bytes) when the PIN is right, else
 * CKR_PIN_INCORRECT; CKR_DEVICE_ERROR when the verifier matches but TK does not unwrap. */
CK_RV seal_pin_check(const struct pin_record *p, const uint8_t uuid[16], enum pin_role role,
                     const CK_UTF8CHAR *pin, CK_ULONG pinlen, uint8_t tk_out[32]);

/* Fills the record's columns from an object. keys is required (writes need the token key). */
CK_RV seal_object(const struct seal_keys *k, const uint8_t uuid[16], const char *uid,
                  const attrs_t *obj, struct object_record *r);
/* Rebuilds the attributes. Always checks the keyless digest; with keys, also the keyed tag
 * and the sealed part. Without keys, a private object cannot be opened
 * (CKR_USER_NOT_LOGGED_IN) and a public one loads without its secret attributes.
 * Any mismatch is CKR_DEVICE_ERROR: the row was changed outside the module. */
CK_RV unseal_object(const struct seal_keys *k, const uint8_t uuid[16],
                    const struct object_record *r, attrs_t *out, bool *secret_loaded);
/* SHA-256 over everything the row holds, as unseal_object checks it: equal to a digest that
 * was verified earlier means the row is byte for byte what was verified then. */
CK_RV seal_row_digest(const uint8_t uuid[16], const struct object_record *r, uint8_t out[32]);
/* The keyed index value of a private object's label or ID. */
CK_RV seal_index(const struct seal_keys *k, char what, const void *val, size_t len,
                 uint8_t out[32]);
/* MAC over the accumulator and object count kept in the token row. */
CK_RV seal_acc_mac(const struct seal_keys *k, const uint8_t acc[32], uint64_t count,
                   uint8_t out[32]);
#endif
