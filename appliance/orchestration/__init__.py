"""The scan orchestration runtime: fair scheduler, workload budget, dispatcher with leases."""
