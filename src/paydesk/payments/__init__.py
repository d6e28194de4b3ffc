"""The pure core: money, Amazon's states and limits, which actions a merchant may take.

Nothing here imports Django, an HTTP library or XML: it is plain Python, tested fast and
exhaustively, and every other part of Paydesk asks it before it acts.
"""
