#include "tap.h"

#include <stdio.h>
#include <string.h>

#include "common/sl_merkle.h"

static void
hex(const char *h, uint8_t *out, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		unsigned int b;

		sscanf(h + 2 * i, "%2x", &b);
		out[i] = (uint8_t) b;
	}
}

static int
eq_hex(const sl_hash h, const char *expect)
{
	sl_hash		e;

	hex(expect, e, SL_HASH_LEN);
	return memcmp(h, e, SL_HASH_LEN) == 0;
}

/* The Certificate Transparency reference tree (RFC 6962 test data). */
static const char *const ct_inputs[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};
static const char *const ct_roots[9] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};


static int
same(const sl_hash *got, int len, const sl_hash *const *want, int wlen)
{
	int			i;

	if (len != wlen)
		return 0;
	for (i = 0; i < len; i++)
		if (memcmp(got[i], *want[i], SL_HASH_LEN) != 0)
			return 0;
	return 1;
}

/*
 * The 7-leaf tree of RFC 6962 section 2.1.3 (draft-ietf-trans-rfc6962-bis):
 * leaves a..f = d0..d5, j = d6; g = (a,b), h = (c,d), i = (e,f), k = (g,h),
 * l = (i,j).
 */
static void
test_merkle_rfc_vectors(const sl_hash *d)
{
	sl_hash		g, h, i, k, l, proof[SL_MERKLE_MAX_PROOF];
	const sl_hash *a = &d[0], *b = &d[1], *c = &d[2], *dd = &d[3], *e = &d[4], *f = &d[5], *j = &d[6];
	int			len, good = 1;

	sl_merkle_node_hash(*a, *b, g);
	sl_merkle_node_hash(*c, *dd, h);
	sl_merkle_node_hash(*e, *f, i);
	sl_merkle_node_hash(g, h, k);
	sl_merkle_node_hash(i, *j, l);

	len = sl_merkle_inclusion_proof(d, 7, 0, proof, SL_MERKLE_MAX_PROOF);
	good &= same(proof, len, (const sl_hash *const[]) {b, &h, &l}, 3);
	len = sl_merkle_inclusion_proof(d, 7, 3, proof, SL_MERKLE_MAX_PROOF);
	good &= same(proof, len, (const sl_hash *const[]) {c, &g, &l}, 3);
	len = sl_merkle_inclusion_proof(d, 7, 4, proof, SL_MERKLE_MAX_PROOF);
	good &= same(proof, len, (const sl_hash *const[]) {f, j, &k}, 3);
	len = sl_merkle_inclusion_proof(d, 7, 6, proof, SL_MERKLE_MAX_PROOF);
	good &= same(proof, len, (const sl_hash *const[]) {&i, &k}, 2);
	ok(good, "merkle: 7-leaf inclusion vectors d0->[b,h,l], d3->[c,g,l], d4->[f,j,k], d6->[i,k]");

	good = 1;
	len = sl_merkle_consistency_proof(d, 3, 7, proof, SL_MERKLE_MAX_PROOF);
	good &= same(proof, len, (const sl_hash *const[]) {c, dd, &g, &l}, 4);
	len = sl_merkle_consistency_proof(d, 4, 7, proof, SL_MERKLE_MAX_PROOF);
	good &= same(proof, len, (const sl_hash *const[]) {&l}, 1);
	len = sl_merkle_consistency_proof(d, 6, 7, proof, SL_MERKLE_MAX_PROOF);
	good &= same(proof, len, (const sl_hash *const[]) {&i, j, &k}, 3);
	ok(good, "merkle: 7-leaf consistency vectors 3->7 [c,d,g,l], 4->7 [l], 6->7 [i,j,k]");
}

/* a node store filled by frontier appends, as the database keeps it */
#define STORE_N 300
typedef struct
{
	sl_hash		node[10][STORE_N];
	int			fetches;
} store_t;

static int
store_node(void *ctx, int level, uint64_t index, sl_hash out)
{
	store_t    *st = ctx;

	st->fetches++;
	if (level >= 10 || ((index + 1) << level) > STORE_N)
		return -1;
	memcpy(out, st->node[level][index], SL_HASH_LEN);
	return 0;
}

static void
test_merkle_stored_nodes(void)
{
	static store_t st;
	static sl_hash leaves[STORE_N];
	sl_hash		frontier[SL_MERKLE_FRONTIER_CAP], completed[64], r1, r2,
				p1[SL_MERKLE_MAX_PROOF], p2[SL_MERKLE_MAX_PROOF];
	uint64_t	n, x, m;
	int			roots = 1, nodes = 1, proofs = 1, c, lvl, l1, l2, maxfetch = 0;

	for (n = 0; n < STORE_N; n++)
	{
		sl_merkle_leaf_hash((const uint8_t *) &n, sizeof n, leaves[n]);
		memcpy(st.node[0][n], leaves[n], SL_HASH_LEN);
		c = sl_merkle_frontier_append(frontier, n, leaves[n], completed);
		if (c != __builtin_ctzll(n + 1))
			nodes = 0;
		for (lvl = 1; lvl <= c; lvl++)
		{
			uint64_t	idx = ((n + 1) >> lvl) - 1;

			memcpy(st.node[lvl][idx], completed[lvl - 1], SL_HASH_LEN);
			sl_merkle_root(leaves + (idx << lvl), UINT64_C(1) << lvl, r1);
			if (memcmp(r1, completed[lvl - 1], SL_HASH_LEN) != 0)
				nodes = 0;
		}
		sl_merkle_frontier_root(frontier, n + 1, r1);
		sl_merkle_root(leaves, n + 1, r2);
		if (memcmp(r1, r2, SL_HASH_LEN) != 0)
			roots = 0;
	}
	ok(roots, "merkle: the frontier root equals MTH after every append, sizes 1..%d", STORE_N);
	ok(nodes, "merkle: appends complete exactly the perfect subtrees ending at each leaf");
	sl_merkle_frontier_root(frontier, 0, r1);
	sl_merkle_root(leaves, 0, r2);
	ok(memcmp(r1, r2, SL_HASH_LEN) == 0, "merkle: the empty frontier has the empty-tree root");

	for (n = 1; n <= STORE_N; n += (n < 70 ? 1 : 37))
	{
		for (x = 0; x < n; x++)
		{
			st.fetches = 0;
			l1 = sl_merkle_inclusion_proof_src(store_node, &st, n, x, p1, SL_MERKLE_MAX_PROOF);
			if (st.fetches > maxfetch)
				maxfetch = st.fetches;
			l2 = sl_merkle_inclusion_proof(leaves, n, x, p2, SL_MERKLE_MAX_PROOF);
			if (l1 != l2 || memcmp(p1, p2, (size_t) l1 * SL_HASH_LEN) != 0)
				proofs = 0;
		}
		for (m = 1; m < n; m++)
		{
			l1 = sl_merkle_consistency_proof_src(store_node, &st, m, n, p1, SL_MERKLE_MAX_PROOF);
			l2 = sl_merkle_consistency_proof(leaves, m, n, p2, SL_MERKLE_MAX_PROOF);
			if (l1 != l2 || memcmp(p1, p2, (size_t) l1 * SL_HASH_LEN) != 0)
				proofs = 0;
		}
	}
	ok(proofs, "merkle: proofs from stored nodes equal proofs from the leaves");
	ok(maxfetch <= 2 * 9 * 9, "merkle: an inclusion proof reads at most O(log^2 n) nodes (max %d for n <= %d)",
	   maxfetch, STORE_N);
	ok(sl_merkle_inclusion_proof_src(store_node, &st, 1024, 3, p1, SL_MERKLE_MAX_PROOF) == -1,
	   "merkle: a node source that cannot answer fails the proof");
}

#define BIG 40

void
test_merkle(void)
{
	sl_hash		leaves[BIG];
	sl_hash		root,
				root2,
				proof[SL_MERKLE_MAX_PROOF];
	uint8_t		buf[16];
	int			i,
				n,
				m,
				len,
				roots_ok = 1,
				incl_ok = 1,
				incl_tamper = 1,
				cons_ok = 1,
				cons_tamper = 1;

	for (i = 0; i < 8; i++)
	{
		size_t		l = strlen(ct_inputs[i]) / 2;

		hex(ct_inputs[i], buf, l);
		sl_merkle_leaf_hash(buf, l, leaves[i]);
	}
	for (n = 0; n <= 8; n++)
	{
		sl_merkle_root(leaves, n, root);
		if (!eq_hex(root, ct_roots[n]))
		{
			roots_ok = 0;
			printf("# root of size %d differs from RFC 6962 test data\n", n);
		}
	}
	ok(roots_ok, "merkle: tree heads of sizes 0..8 match the RFC 6962 reference tree");

	len = sl_merkle_inclusion_proof(leaves, 8, 0, proof, SL_MERKLE_MAX_PROOF);
	ok(len == 3 &&
	   eq_hex(proof[0], "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7") &&
	   eq_hex(proof[1], "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e") &&
	   eq_hex(proof[2], "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
	   "merkle: inclusion proof of leaf 0 in size 8 matches the reference");

	/* more leaves for exhaustive round trips */
	for (i = 8; i < BIG; i++)
	{
		buf[0] = (uint8_t) i;
		buf[1] = (uint8_t) (i * 7);
		sl_merkle_leaf_hash(buf, 2, leaves[i]);
	}
	for (n = 1; n <= BIG; n++)
	{
		sl_merkle_root(leaves, n, root);
		for (i = 0; i < n; i++)
		{
			len = sl_merkle_inclusion_proof(leaves, n, i, proof, SL_MERKLE_MAX_PROOF);
			if (len < 0 || !sl_merkle_verify_inclusion(i, n, leaves[i], proof, len, root))
				incl_ok = 0;
			/*
			 * wrong leaf, wrong index, flipped bit, truncated, extended.
			 * Not "wrong size": RFC 9162 verifiers take (size, root) as a
			 * pair, which the signed checkpoint binds; for many sizes the
			 * same path shape fits n and n+1 alike, so the size must come
			 * from a signed checkpoint, never from the client.
			 */
			if (sl_merkle_verify_inclusion(i, n, leaves[(i + 1) % BIG], proof, len, root) ||
				(n > 1 && sl_merkle_verify_inclusion((i + 1) % n, n, leaves[i], proof, len, root)) ||
				(len > 0 && sl_merkle_verify_inclusion(i, n, leaves[i], proof, len - 1, root)) ||
				sl_merkle_verify_inclusion(i, n, leaves[i], proof, len + 1, root))
				incl_tamper = 0;
			if (len > 0)
			{
				proof[len - 1][5] ^= 0x20;
				if (sl_merkle_verify_inclusion(i, n, leaves[i], proof, len, root))
					incl_tamper = 0;
			}
		}
		for (m = 1; m < n; m++)
		{
			sl_merkle_root(leaves, m, root2);
			len = sl_merkle_consistency_proof(leaves, m, n, proof, SL_MERKLE_MAX_PROOF);
			if (len <= 0 || !sl_merkle_verify_consistency(m, n, root2, root, proof, len))
			{
				cons_ok = 0;
				printf("# consistency %d -> %d fails\n", m, n);
			}
			if (sl_merkle_verify_consistency(m, n, root, root2, proof, len) ||
				(m + 1 < n && sl_merkle_verify_consistency(m + 1, n, root2, root, proof, len)) ||
				(m > 1 && sl_merkle_verify_consistency(m - 1, n, root2, root, proof, len)) ||
				sl_merkle_verify_consistency(m, n, root2, root, proof, len - 1))
				cons_tamper = 0;
			proof[0][0] ^= 1;
			if (sl_merkle_verify_consistency(m, n, root2, root, proof, len))
				cons_tamper = 0;
		}
	}
	ok(incl_ok, "merkle: every inclusion proof verifies, sizes 1..%d, every leaf", BIG);
	ok(incl_tamper, "merkle: wrong leaf, index, length or a flipped bit fails inclusion");
	ok(cons_ok, "merkle: every consistency proof verifies, 1 <= m < n <= %d", BIG);
	ok(cons_tamper, "merkle: swapped roots, wrong old size, short proofs or a flipped bit fail consistency");

	sl_merkle_root(leaves, 8, root);
	ok(sl_merkle_verify_consistency(8, 8, root, root, NULL, 0) &&
	   !sl_merkle_verify_consistency(8, 8, root, root2, NULL, 0) &&
	   !sl_merkle_verify_consistency(0, 8, root, root, proof, 1) &&
	   !sl_merkle_verify_consistency(9, 8, root, root, proof, 1),
	   "merkle: equal sizes need equal roots and an empty proof; size 0 or m > n fail");
	ok(sl_merkle_inclusion_proof(leaves, 8, 8, proof, SL_MERKLE_MAX_PROOF) == -1 &&
	   sl_merkle_consistency_proof(leaves, 0, 8, proof, SL_MERKLE_MAX_PROOF) == -1 &&
	   sl_merkle_consistency_proof(leaves, 8, 8, proof, SL_MERKLE_MAX_PROOF) == -1 &&
	   sl_merkle_inclusion_proof(leaves, 8, 0, proof, 2) == -1,
	   "merkle: out-of-range index, bad sizes and a too-small buffer are refused");
	ok(!sl_merkle_verify_inclusion(0, 0, leaves[0], proof, 0, root), "merkle: nothing is included in an empty tree");

	test_merkle_rfc_vectors(leaves);
	test_merkle_stored_nodes();
}
