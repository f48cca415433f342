/*
 * libFuzzer target for the Merkle proof verifiers of src/common/sl_merkle.c:
 * proofs, sizes and roots come from outside (clients, auditors), so arbitrary
 * bytes must never crash them, and a verified inclusion must hold for the
 * tree the input describes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/sl_merkle.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	a,
				b;
	size_t		plen;
	sl_hash    *proof;
	sl_hash		r1,
				r2;

	if (size < 16 + 2 * SL_HASH_LEN)
		return 0;
	if (sodium_init() < 0)
		abort();
	memcpy(&a, data, 8);
	memcpy(&b, data + 8, 8);
	memcpy(r1, data + 16, SL_HASH_LEN);
	memcpy(r2, data + 16 + SL_HASH_LEN, SL_HASH_LEN);
	data += 16 + 2 * SL_HASH_LEN;
	size -= 16 + 2 * SL_HASH_LEN;
	plen = size / SL_HASH_LEN;
	proof = malloc(plen ? plen * SL_HASH_LEN : 1);
	if (!proof)
		return 0;
	memcpy(proof, data, plen * SL_HASH_LEN);

	(void) sl_merkle_verify_inclusion(a, b, r1, proof, plen, r2);
	(void) sl_merkle_verify_consistency(a, b, r1, r2, proof, plen);

	/* small real trees built from the input: generated proofs must verify */
	{
		uint64_t	n = (b % 24) + 1,
					i = a % n,
					k;
		sl_hash		leaves[24],
					root,
					p[SL_MERKLE_MAX_PROOF];
		int			len;

		for (k = 0; k < n; k++)
			sl_merkle_leaf_hash((const uint8_t *) &k, sizeof k, leaves[k]);
		sl_merkle_root(leaves, n, root);
		len = sl_merkle_inclusion_proof(leaves, n, i, p, SL_MERKLE_MAX_PROOF);
		if (len < 0 || !sl_merkle_verify_inclusion(i, n, leaves[i], p, (size_t) len, root))
			abort();
	}
	free(proof);
	return 0;
}
