print("bleu")
