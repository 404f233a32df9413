print("reptok")
