"""The simulation kernel: clock and scheduling (simpy), random streams, distributions, Request and its
outcomes, and the records a run keeps as it goes (state timeline with causes, request metrics)."""
