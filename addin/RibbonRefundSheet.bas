Attribute VB_Name = "RibbonRefundSheet"
' The ribbon callback of the RefundSheet add-in (the tab is addin/customUI14.xml).
' Every button calls OnButton; Python picks the handler by the button's id, so a new button
' needs no new VBA. Keep this module ASCII-only: VBA source is stored in the project's code page.
' Built into RefundSheet.xlam by "refund-sheet addin build"; RunPython lives in the xlwings module.
Option Explicit

Public Sub OnButton(control As IRibbonControl)
    RunPython "import refund_sheet.excel; refund_sheet.excel.on_button('" & control.Id & "')"
End Sub
