"""What the desktop gives the app beside a camera.

System-wide keys, the clipboard's picture and one-off pictures of the screen or the active
window (QtCore, QtGui for the clipboard; no widgets).
"""
