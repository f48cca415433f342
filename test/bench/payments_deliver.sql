SELECT bench_p.deliver(:impl);
