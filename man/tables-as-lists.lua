-- pandoc filter for the manual pages: a table of docs/config.md becomes a
-- list, one entry per row (the first cell as the term, every other cell as
-- "<column>: <text>"), since man(7) tables that wide do not fit a terminal.
local function text_of(blocks)
  return pandoc.utils.blocks_to_inlines(blocks)
end

function Table(tbl)
  local headers = {}
  if tbl.head and tbl.head.rows and tbl.head.rows[1] then
    for i, cell in ipairs(tbl.head.rows[1].cells) do
      headers[i] = pandoc.utils.stringify(cell.contents)
    end
  end
  local items = {}
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      local defs = {}
      for i = 2, #row.cells do
        local inlines = text_of(row.cells[i].contents)
        if headers[i] and headers[i] ~= "" then
          table.insert(inlines, 1, pandoc.Space())
          table.insert(inlines, 1, pandoc.Emph({pandoc.Str(headers[i] .. ":")}))
        end
        defs[#defs + 1] = pandoc.Para(inlines)
      end
      items[#items + 1] = {text_of(row.cells[1].contents), {defs}}
    end
  end
  return pandoc.DefinitionList(items)
end
