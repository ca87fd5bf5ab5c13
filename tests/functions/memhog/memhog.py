def memhog_handler(event, context):
    hog = []
    for _ in range(event.get("megabytes", 512)):
        hog.append(bytearray(1024 * 1024))
    return {"allocated": len(hog)}
