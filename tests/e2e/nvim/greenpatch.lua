-- Greenpatch for Neovim 0.7 and later: one language-server client per project root for
-- Python buffers, plus :Greenpatch* commands. Save as lua/greenpatch.lua on your runtimepath
-- and call require('greenpatch').setup({...}) from init.lua (docs/editors.md).
-- Uses only vim.lsp.start_client/buf_attach_client, which 0.7 (Debian 12) already has;
-- tested on 0.7.2.
local M = { clients = {} }

local defaults = {
  cmd = { 'greenpatch', 'lsp' },
  root_markers = { 'pyproject.toml', 'setup.cfg', 'setup.py', '.git' },
  init_options = vim.empty_dict(), -- e.g. { models = { default = 'openai/gpt-4o-mini' } }
  handlers = {},
}

-- The nearest directory above `path` that holds one of the markers.
local function find_root(path, markers)
  local dir = vim.fn.fnamemodify(path, ':p:h')
  while true do
    for _, marker in ipairs(markers) do
      if vim.loop.fs_stat(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

-- Start (or reuse) the server for the buffer's project and attach the buffer to it.
function M.attach(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local root = name ~= '' and (M.config.root_dir or find_root(name, M.config.root_markers))
  if not root then
    return nil
  end
  local id = M.clients[root]
  if not (id and vim.lsp.get_client_by_id(id)) then
    id = vim.lsp.start_client({
      name = 'greenpatch',
      cmd = M.config.cmd,
      root_dir = root,
      init_options = M.config.init_options,
      handlers = M.config.handlers,
    })
    M.clients[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

-- The Greenpatch client attached to a buffer (any running one if `bufnr` is nil).
function M.client(bufnr)
  local clients
  if vim.lsp.get_clients then -- 0.10 and later, where the 0.7 calls below are deprecated
    clients = vim.lsp.get_clients({ bufnr = bufnr })
  else
    clients = bufnr and vim.lsp.buf_get_clients(bufnr) or vim.lsp.get_active_clients()
  end
  for _, client in pairs(clients) do
    if client.name == 'greenpatch' then
      return client
    end
  end
  return nil
end

-- Run a greenpatch.* command through workspace/executeCommand; the server reports
-- errors itself with window/showMessage, so only results are handed on.
function M.execute(name, args, on_result)
  local bufnr = vim.api.nvim_get_current_buf()
  -- From a buffer of the project, its server; from elsewhere (the proposal window), any.
  local client = M.client(bufnr) or M.client(nil)
  if not client then
    vim.notify('Greenpatch: no server for this buffer', vim.log.levels.WARN)
    return
  end
  local params = { command = 'greenpatch.' .. name, arguments = { args or vim.empty_dict() } }
  client.request('workspace/executeCommand', params, function(err, result)
    if err then
      vim.notify('Greenpatch: ' .. err.message, vim.log.levels.ERROR)
    elseif on_result and type(result) == 'table' and not result.error then
      on_result(result)
    end
  end, bufnr)
end

-- The proposal's unified diff in a scratch buffer.
local function show(proposal)
  vim.cmd('new')
  vim.bo.buftype, vim.bo.bufhidden, vim.bo.filetype = 'nofile', 'wipe', 'diff'
  vim.api.nvim_buf_set_lines(0, 0, -1, false, vim.split(proposal.diff or '', '\n'))
end

local function task_here(opts)
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  M.execute('runTask', { task = opts.args, uri = vim.uri_from_bufnr(0), line = line })
end

function M.setup(opts)
  M.config = vim.tbl_extend('force', defaults, opts or {})
  local group = vim.api.nvim_create_augroup('greenpatch', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'python',
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  local command = vim.api.nvim_create_user_command
  command('GreenpatchTask', task_here, { nargs = '+', desc = 'Greenpatch: run a task' })
  command('GreenpatchShow', function()
    M.execute('showProposal', nil, show)
  end, { desc = 'Greenpatch: show the proposal' })
  command('GreenpatchAccept', function()
    M.execute('acceptProposal')
  end, { desc = 'Greenpatch: accept the proposal' })
  command('GreenpatchReject', function()
    M.execute('rejectProposal')
  end, { desc = 'Greenpatch: reject the proposal' })
  command('GreenpatchCancel', function()
    M.execute('cancelRun')
  end, { desc = 'Greenpatch: cancel the run' })
end

return M
