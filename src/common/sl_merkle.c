/*
 * sl_merkle.c - RFC 6962 / RFC 9162 Merkle tree math.
 */
#include "sl_merkle.h"

#include <string.h>

#include <sodium.h>

void
sl_merkle_leaf_hash(const uint8_t *entry, size_t len, sl_hash out)
{
	crypto_hash_sha256_state st;
	static const uint8_t prefix = 0x00;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	if (len > 0)
		crypto_hash_sha256_update(&st, entry, len);
	crypto_hash_sha256_final(&st, out);
}

void
sl_merkle_node_hash(const sl_hash left, const sl_hash right, sl_hash out)
{
	uint8_t		buf[1 + 2 * SL_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, SL_HASH_LEN);
	memcpy(buf + 1 + SL_HASH_LEN, right, SL_HASH_LEN);
	crypto_hash_sha256(out, buf, sizeof buf);
}

/* largest power of two strictly smaller than n (n >= 2) */
static uint64_t
split_point(uint64_t n)
{
	uint64_t	k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

void
sl_merkle_root(const sl_hash *leaves, uint64_t n, sl_hash out)
{
	sl_hash		l,
				r;
	uint64_t	k;

	if (n == 0)
	{
		crypto_hash_sha256(out, (const uint8_t *) "", 0);
		return;
	}
	if (n == 1)
	{
		memcpy(out, leaves[0], SL_HASH_LEN);
		return;
	}
	k = split_point(n);
	sl_merkle_root(leaves, k, l);
	sl_merkle_root(leaves + k, n - k, r);
	sl_merkle_node_hash(l, r, out);
}

/* PATH(m, D[0:n]), RFC 6962 2.1.1; appends to proof[*len] */
static int
path(const sl_hash *leaves, uint64_t n, uint64_t m, sl_hash *proof, size_t cap, size_t *len)
{
	uint64_t	k;

	if (n <= 1)
		return 0;
	k = split_point(n);
	if (m < k)
	{
		if (path(leaves, k, m, proof, cap, len) < 0)
			return -1;
		if (*len >= cap)
			return -1;
		sl_merkle_root(leaves + k, n - k, proof[(*len)++]);
	}
	else
	{
		if (path(leaves + k, n - k, m - k, proof, cap, len) < 0)
			return -1;
		if (*len >= cap)
			return -1;
		sl_merkle_root(leaves, k, proof[(*len)++]);
	}
	return 0;
}

int
sl_merkle_inclusion_proof(const sl_hash *leaves, uint64_t n, uint64_t index,
						  sl_hash *proof, size_t cap)
{
	size_t		len = 0;

	if (index >= n)
		return -1;
	if (path(leaves, n, index, proof, cap, &len) < 0)
		return -1;
	return (int) len;
}

/* SUBPROOF(m, D[0:n], b), RFC 6962 2.1.2 */
static int
subproof(const sl_hash *leaves, uint64_t m, uint64_t n, int b, sl_hash *proof, size_t cap, size_t *len)
{
	uint64_t	k;

	if (m == n)
	{
		if (b)
			return 0;
		if (*len >= cap)
			return -1;
		sl_merkle_root(leaves, m, proof[(*len)++]);
		return 0;
	}
	k = split_point(n);
	if (m <= k)
	{
		if (subproof(leaves, m, k, b, proof, cap, len) < 0 || *len >= cap)
			return -1;
		sl_merkle_root(leaves + k, n - k, proof[(*len)++]);
	}
	else
	{
		if (subproof(leaves + k, m - k, n - k, 0, proof, cap, len) < 0 || *len >= cap)
			return -1;
		sl_merkle_root(leaves, k, proof[(*len)++]);
	}
	return 0;
}

int
sl_merkle_consistency_proof(const sl_hash *leaves, uint64_t m, uint64_t n,
							sl_hash *proof, size_t cap)
{
	size_t		len = 0;

	if (m == 0 || m >= n)
		return -1;
	if (subproof(leaves, m, n, 1, proof, cap, &len) < 0)
		return -1;
	return (int) len;
}

/*
 * The fold shared by RFC 9162 2.1.3.2 (inclusion) and 2.1.4.2 (consistency):
 * walk the proof with fn/sn, hashing the running value(s). fr is the old-tree
 * value of a consistency proof, or NULL for inclusion. Returns 1 when the
 * proof is consumed exactly at the root (sn == 0), 0 otherwise.
 */
static int
fold(uint64_t fn, uint64_t sn, const sl_hash *proof, size_t plen, uint8_t *fr, uint8_t *sr)
{
	size_t		i;

	for (i = 0; i < plen; i++)
	{
		if (sn == 0)
			return 0;
		if ((fn & 1) || fn == sn)
		{
			if (fr)
				sl_merkle_node_hash(proof[i], fr, fr);
			sl_merkle_node_hash(proof[i], sr, sr);
			while (!(fn & 1) && fn != 0)
			{
				fn >>= 1;
				sn >>= 1;
			}
		}
		else
			sl_merkle_node_hash(sr, proof[i], sr);
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0;
}

int
sl_merkle_verify_inclusion(uint64_t index, uint64_t size, const sl_hash leaf_hash,
						   const sl_hash *proof, size_t plen, const sl_hash root)
{
	sl_hash		r;

	if (index >= size)
		return 0;
	memcpy(r, leaf_hash, SL_HASH_LEN);
	return fold(index, size - 1, proof, plen, NULL, r) &&
		sodium_memcmp(r, root, SL_HASH_LEN) == 0;
}

int
sl_merkle_verify_consistency(uint64_t m, uint64_t n, const sl_hash root1,
							 const sl_hash root2, const sl_hash *proof, size_t plen)
{
	uint64_t	fn,
				sn;
	sl_hash		fr,
				sr;
	size_t		i = 0;

	if (m == 0 || m > n)
		return 0;
	if (m == n)
		return plen == 0 && sodium_memcmp(root1, root2, SL_HASH_LEN) == 0;
	if (plen == 0)
		return 0;
	fn = m - 1;
	sn = n - 1;
	while (fn & 1)
	{
		fn >>= 1;
		sn >>= 1;
	}
	/* when m is a power of two, the path starts with root1 itself */
	if ((m & (m - 1)) == 0)
		memcpy(fr, root1, SL_HASH_LEN);
	else
		memcpy(fr, proof[i++], SL_HASH_LEN);
	memcpy(sr, fr, SL_HASH_LEN);
	return fold(fn, sn, proof + i, plen - i, fr, sr) &&
		sodium_memcmp(fr, root1, SL_HASH_LEN) == 0 &&
		sodium_memcmp(sr, root2, SL_HASH_LEN) == 0;
}
