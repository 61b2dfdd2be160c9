"""Shared by the MCP client tests in this folder."""

# The tool names are a contract (docs/mcp.md, the design brief).
CONTRACT_TOOLS = {
    "office_status",
    "excel_list_sheets",
    "excel_read_range",
    "excel_read_selection",
    "excel_write_range",
    "excel_delete_sheet",
    "ppt_list_slides",
    "ppt_read_slide",
    "ppt_add_slide",
    "ppt_add_text",
    "ppt_add_table",
    "ppt_insert_chart",
    "ppt_delete_slide",
    "xlsx_read",
    "xlsx_write",
    "scan_file",
    "flows_recent",
}
