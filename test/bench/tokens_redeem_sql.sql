UPDATE bench.sqltok s SET uses = uses + 1
  FROM bench.sqltok_text t
 WHERE t.i = (SELECT nextval('bench.sqltok_seq')) AND s.hash = sha256(convert_to(t.token, 'UTF8')) AND s.uses < 1
RETURNING s.subject;
