Attribute VB_Name = "RefundSheetShell"
' Quoting for the shell command that xlwings' AppleScript runs on a Mac (RunPython in Excel for Mac).
' xlwings passes the interpreter path into "do shell script" as it is, so a path with a space
' (/Users/me/My Envs/bin/python) runs "/Users/me/My" and the button silently does nothing.
' "refund-sheet addin build" makes ExecuteMac in the xlwings module pass the path through ShellQuoted.
' Keep this module ASCII-only: VBA source is stored in the project's code page.
Option Explicit

Public Function ShellQuoted(ByVal text As String) As String
    ' POSIX sh single quotes keep every character literal; a ' inside is closed, escaped and reopened.
    ShellQuoted = "'" & Replace(text, "'", "'\''") & "'"
End Function
