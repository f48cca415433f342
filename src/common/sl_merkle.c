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

/*
 * Proof generation works over a node source: a callback returning the hash
 * of the perfect subtree (level, index), which covers leaves
 * [index << level, (index + 1) << level). The database stores exactly those
 * nodes; the array API below computes them from leaf hashes.
 */
int
sl_merkle_range_hash(sl_node_fn fn, void *ctx, uint64_t a, uint64_t b, sl_hash out)
{
	uint64_t	n = b - a,
				k;
	sl_hash		l,
				r;

	if (n == 0)
	{
		crypto_hash_sha256(out, (const uint8_t *) "", 0);
		return 0;
	}
	if ((n & (n - 1)) == 0 && a % n == 0)
	{
		int			level = 0;

		while ((UINT64_C(1) << level) < n)
			level++;
		return fn(ctx, level, a >> level, out);
	}
	k = split_point(n);
	if (sl_merkle_range_hash(fn, ctx, a, a + k, l) < 0 ||
		sl_merkle_range_hash(fn, ctx, a + k, b, r) < 0)
		return -1;
	sl_merkle_node_hash(l, r, out);
	return 0;
}

/* PATH(m, D[a:b]), RFC 6962 2.1.1; appends to proof[*len] */
static int
path(sl_node_fn fn, void *ctx, uint64_t a, uint64_t b, uint64_t m,
	 sl_hash *proof, size_t cap, size_t *len)
{
	uint64_t	n = b - a,
				k;

	if (n <= 1)
		return 0;
	k = split_point(n);
	if (m < k)
	{
		if (path(fn, ctx, a, a + k, m, proof, cap, len) < 0 || *len >= cap)
			return -1;
		return sl_merkle_range_hash(fn, ctx, a + k, b, proof[(*len)++]);
	}
	if (path(fn, ctx, a + k, b, m - k, proof, cap, len) < 0 || *len >= cap)
		return -1;
	return sl_merkle_range_hash(fn, ctx, a, a + k, proof[(*len)++]);
}

int
sl_merkle_inclusion_proof_src(sl_node_fn fn, void *ctx, uint64_t n, uint64_t index,
							  sl_hash *proof, size_t cap)
{
	size_t		len = 0;

	if (index >= n)
		return -1;
	if (path(fn, ctx, 0, n, index, proof, cap, &len) < 0)
		return -1;
	return (int) len;
}

/* SUBPROOF(m, D[a:b], b), RFC 6962 2.1.2 */
static int
subproof(sl_node_fn fn, void *ctx, uint64_t a, uint64_t m, uint64_t b, int whole,
		 sl_hash *proof, size_t cap, size_t *len)
{
	uint64_t	n = b - a,
				k;

	if (m == n)
	{
		if (whole)
			return 0;
		if (*len >= cap)
			return -1;
		return sl_merkle_range_hash(fn, ctx, a, b, proof[(*len)++]);
	}
	k = split_point(n);
	if (m <= k)
	{
		if (subproof(fn, ctx, a, m, a + k, whole, proof, cap, len) < 0 || *len >= cap)
			return -1;
		return sl_merkle_range_hash(fn, ctx, a + k, b, proof[(*len)++]);
	}
	if (subproof(fn, ctx, a + k, m - k, b, 0, proof, cap, len) < 0 || *len >= cap)
		return -1;
	return sl_merkle_range_hash(fn, ctx, a, a + k, proof[(*len)++]);
}

int
sl_merkle_consistency_proof_src(sl_node_fn fn, void *ctx, uint64_t m, uint64_t n,
								sl_hash *proof, size_t cap)
{
	size_t		len = 0;

	if (m == 0 || m >= n)
		return -1;
	if (subproof(fn, ctx, 0, m, n, 1, proof, cap, &len) < 0)
		return -1;
	return (int) len;
}

/* node source over an array of leaf hashes */
static int
array_node(void *ctx, int level, uint64_t index, sl_hash out)
{
	const sl_hash *leaves = ctx;

	sl_merkle_root(leaves + (index << level), UINT64_C(1) << level, out);
	return 0;
}

int
sl_merkle_inclusion_proof(const sl_hash *leaves, uint64_t n, uint64_t index,
						  sl_hash *proof, size_t cap)
{
	return sl_merkle_inclusion_proof_src(array_node, (void *) leaves, n, index, proof, cap);
}

int
sl_merkle_consistency_proof(const sl_hash *leaves, uint64_t m, uint64_t n,
							sl_hash *proof, size_t cap)
{
	return sl_merkle_consistency_proof_src(array_node, (void *) leaves, m, n, proof, cap);
}

/*
 * The compact range of a tree of n leaves: the roots of the perfect subtrees
 * of n's binary decomposition, largest (leftmost) first; popcount(n) hashes.
 */
int
sl_merkle_frontier_append(sl_hash *frontier, uint64_t n, const sl_hash leaf,
						  sl_hash *completed)
{
	int			len = 0,
				top = __builtin_popcountll(n);
	uint64_t	m = n;

	memcpy(frontier[top], leaf, SL_HASH_LEN);
	/* each trailing one bit of n is a subtree of equal size to merge with */
	while (m & 1)
	{
		sl_merkle_node_hash(frontier[top - 1], frontier[top], frontier[top - 1]);
		top--;
		memcpy(completed[len++], frontier[top], SL_HASH_LEN);
		m >>= 1;
	}
	return len;
}

void
sl_merkle_frontier_root(const sl_hash *frontier, uint64_t n, sl_hash out)
{
	int			i = __builtin_popcountll(n) - 1;

	if (n == 0)
	{
		crypto_hash_sha256(out, (const uint8_t *) "", 0);
		return;
	}
	memcpy(out, frontier[i], SL_HASH_LEN);
	while (--i >= 0)
		sl_merkle_node_hash(frontier[i], out, out);
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
