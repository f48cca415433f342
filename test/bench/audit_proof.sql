-- an inclusion proof for a random entry of the 1,000,000-entry log, at its full size
\set e random(:first, :last)
SELECT trail.inclusion_proof(:e, :size);
