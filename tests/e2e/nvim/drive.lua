-- Headless Neovim as a Greenpatch user: open the example's failing test, pick "fix this
-- failing test" from the code-action menu, wait for the green fix to land in the open
-- pricing.py buffer (the server applies it with workspace/applyEdit), save, quit.
-- Everything seen on the way goes into a JSON result file for tests/e2e/test_neovim.py.
--
-- Environment: NVIM_GP_WORKSPACE (the example copy), NVIM_GP_PYTHON, NVIM_GP_MODEL,
-- NVIM_GP_NVIM_DIR (this directory), NVIM_GP_RESULT (the JSON file to write),
-- NVIM_GP_TIMEOUT_MS (how long the run may take), NVIM_GP_APPROVAL ('auto': the green fix is
-- applied at once; 'review': the user types meanwhile, then shows and accepts the proposal).
local env = vim.env
local FIX = 'Greenpatch: fix this failing test (test_apply_discount)'
local FIXED = '(100 - percent)'
local NOTE = "# the user's note, typed while the agents worked"

local result = {
  steps = {},
  titles = {},
  messages = {},
  log_messages = {},
  events = {},
  applied = {},
}

local session = {} -- the client and buffer, for cleaning up after a failure

local function save()
  vim.fn.writefile({ vim.json.encode(result) }, env.NVIM_GP_RESULT)
end

local function step(name)
  table.insert(result.steps, name)
  save()
end

local function wait_for(what, timeout_ms, condition)
  if not vim.wait(timeout_ms, condition, 50) then
    error('timed out after ' .. timeout_ms .. ' ms waiting for ' .. what, 2)
  end
end

local function text_of(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
end

local function line_of(bufnr, needle)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    if line:find(needle, 1, true) then
      return i
    end
  end
  error('no line with ' .. needle)
end

-- Record what the server says, and still let Neovim's own handlers do their work.
local function recording_handlers()
  local default = vim.lsp.handlers
  return {
    ['window/showMessage'] = function(err, params, ctx, config)
      table.insert(result.messages, params)
      save()
      return default['window/showMessage'](err, params, ctx, config)
    end,
    ['window/logMessage'] = function(_, params)
      table.insert(result.log_messages, params.message)
    end,
    ['greenpatch/runEvent'] = function(_, event)
      table.insert(result.events, event)
      save()
    end,
    ['workspace/executeCommand'] = function(err, answer)
      result.executed = { error = err, result = answer }
      save()
    end,
    ['workspace/applyEdit'] = function(err, params, ctx, config)
      local answer = default['workspace/applyEdit'](err, params, ctx, config)
      table.insert(result.applied, { label = params.label, applied = answer.applied })
      save()
      return answer
    end,
  }
end

-- Start Neovim's client through the documented module and open both files.
local function open_workspace()
  result.nvim = vim.version()
  vim.lsp.set_log_level('debug')
  result.lsp_log = vim.lsp.get_log_path()
  local greenpatch = dofile(env.NVIM_GP_NVIM_DIR .. '/greenpatch.lua')
  greenpatch.setup({
    cmd = { env.NVIM_GP_PYTHON, '-m', 'greenpatch.cli', 'lsp' },
    init_options = { models = { default = env.NVIM_GP_MODEL }, approval = env.NVIM_GP_APPROVAL },
    handlers = recording_handlers(),
  })
  local workspace = env.NVIM_GP_WORKSPACE
  vim.cmd('edit ' .. vim.fn.fnameescape(workspace .. '/shop/pricing.py'))
  local source = vim.api.nvim_get_current_buf()
  vim.cmd('edit ' .. vim.fn.fnameescape(workspace .. '/tests/test_pricing.py'))
  local test = vim.api.nvim_get_current_buf()
  assert(vim.tbl_count(greenpatch.clients) == 1, 'the FileType autocmd started no client')
  -- Neovim lists a buffer's clients once they are initialised.
  wait_for('the server to initialise and attach', 30000, function()
    return greenpatch.client(test) ~= nil
  end)
  local client = greenpatch.client(test)
  session.client, session.bufnr = client, test
  assert(greenpatch.client(source) == client, 'both buffers should share one client')
  result.root = client.config.root_dir
  result.server_pid = client.rpc.pid
  step('initialized')
  return client, source, test
end

-- The user's gesture: cursor on the test, code-action menu, pick the fix.
local function pick_the_fix(test)
  vim.api.nvim_win_set_cursor(0, { line_of(test, 'def test_apply_discount():'), 4 })
  local picked = false
  vim.ui.select = function(items, opts, on_choice)
    local choice, index
    for i, item in ipairs(items) do
      local title = opts.format_item(item)
      table.insert(result.titles, title)
      if title == FIX then
        choice, index = item, i
      end
    end
    picked = true
    save()
    on_choice(choice, index)
  end
  vim.lsp.buf.code_action()
  wait_for('the code-action menu', 30000, function()
    return picked
  end)
  step('code actions listed')
  wait_for('workspace/executeCommand to answer', 30000, function()
    return result.executed ~= nil
  end)
  step('run started')
end

local function finished()
  local last = result.events[#result.events]
  return last ~= nil and last.kind == 'finished'
end

-- approval = 'review': the user types in the file the run is fixing, then, once the proposal
-- is green, looks at it (:GreenpatchShow) and accepts it (:GreenpatchAccept).
local function review(source, timeout)
  vim.api.nvim_buf_set_lines(source, -1, -1, false, { '', NOTE })
  step('typed meanwhile')
  wait_for('the run to finish', timeout, finished)
  result.before_accept = text_of(source)
  vim.cmd('GreenpatchShow')
  wait_for('the proposal window', 30000, function()
    return vim.bo.filetype == 'diff' and text_of(0):find(FIXED, 1, true) ~= nil
  end)
  result.proposal_diff = text_of(0)
  step('proposal shown')
  vim.cmd('GreenpatchAccept') -- from the diff window: any Greenpatch client will do
end

local function main()
  local client, source, test = open_workspace()
  pick_the_fix(test)
  local timeout = tonumber(env.NVIM_GP_TIMEOUT_MS) or 180000
  if env.NVIM_GP_APPROVAL == 'review' then
    review(source, timeout)
  end
  wait_for('the fix in the pricing.py buffer', timeout, function()
    return text_of(source):find(FIXED, 1, true) ~= nil
  end)
  result.buffer = text_of(source)
  result.modified = vim.bo[source].modified
  step('buffer changed')
  vim.api.nvim_buf_call(source, function()
    vim.cmd('write')
  end)
  step('saved')
  wait_for('the run to finish', 30000, finished)
  client.stop()
  wait_for('the server to stop', 10000, function()
    return client.is_stopped()
  end)
  step('stopped')
end

-- After a failure, cancel any run so the server does not outlive Neovim working for no one.
local function clean_up()
  local client = session.client
  if not client or client.is_stopped() then
    return
  end
  local cancel = { command = 'greenpatch.cancelRun', arguments = { vim.empty_dict() } }
  result.cancelled = client.request_sync('workspace/executeCommand', cancel, 5000, session.bufnr)
  vim.wait(30000, function()
    local last = result.events[#result.events]
    return last == nil or last.kind == 'finished'
  end, 50)
  client.stop()
  vim.wait(5000, function()
    return client.is_stopped()
  end, 50)
end

local ok, err = xpcall(main, debug.traceback)
result.ok = ok
result.error = (not ok) and err or nil
if not ok then
  pcall(clean_up)
end
result.vim_messages = vim.api.nvim_exec('messages', true)
save()
vim.cmd(ok and 'qall!' or 'cquit 1')
