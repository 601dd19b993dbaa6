# Hostile: spins on the CPU and never listens.
while True:
    pass
