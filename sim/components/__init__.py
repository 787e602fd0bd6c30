"""The simulated parts of a serving stack: client, discovery, load balancer, servers, database, cache,
control plane, network. Each reports its own end-of-run figures (``report()``)."""
