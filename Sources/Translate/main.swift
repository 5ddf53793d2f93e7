print("translate")
