"""The advice: the dialogue engine, the proofs that run it, and its words.

Pure: texts in, values out. Reading files is ``bot.sources``' job and talking
to people is a channel's, so every channel and every check runs this same code.
"""
