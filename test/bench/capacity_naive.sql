UPDATE bench.naive SET sold = sold + 1 WHERE id = 1 AND sold < capacity;
