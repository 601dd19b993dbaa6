# Hostile: allocates memory until something stops it, before it ever listens.
hog = []
while True:
    hog.append(bytearray(16 * 1024 * 1024))
