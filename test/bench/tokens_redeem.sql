SELECT (tokens.redeem('bench', token)).uses_left FROM bench.tok WHERE i = (SELECT nextval('bench.tok_seq'));
