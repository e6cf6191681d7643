"""decisions: rulebooks that decide outputs for a subject (classification, provisioning, policy, monitoring).

model (the dataclasses) < compile < run (`decide`) < examples < load (`load_decision`, `check_decision`);
classification, provisions, pricing, monitoring and snapshots apply them to loans and customers.
"""
