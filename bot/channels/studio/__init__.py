"""The studio: a local web page where admins see a flow, and try it, before it goes live.

People who sign a flow off (an engagement lead, a Welsh language officer, a
manager) need to see it and click through it without Telegram or a
terminal. The studio serves, on 127.0.0.1 only, every flow's check status,
its picture, its wording in every language side by side, its rules in
words, and a try-out that runs the bot's own engine and renderer. It loads
flows the way the bot does (``bot.child_loader``) and reloads them when a
file changes, keeping the last good version while an edit is broken.
"""
