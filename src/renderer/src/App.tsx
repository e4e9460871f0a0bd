// The window: top bar (search, language, help), the sections on the left, the current view, the
// status line with indexing progress, drag-and-drop anywhere, and the one keyboard handler that
// turns the key map (lib/keys.ts) into actions on the photo view in front.
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { DropOverlay } from './components/DropOverlay.js';
import { FolderPicker } from './components/FolderPicker.js';
import { HelpDialog } from './components/HelpDialog.js';
import { IndexDialog } from './components/IndexDialog.js';
import { NavRail } from './components/NavRail.js';
import { StatusBar } from './components/StatusBar.js';
import { TagDialog } from './components/TagDialog.js';
import { Toasts } from './components/Toasts.js';
import { TopBar } from './components/TopBar.js';
import { isMarking, matchKey, typingTarget } from './lib/keys.js';
import type { AppController } from './state/app.js';
import { useApp, useAppState } from './state/context.js';
import { BrowseView } from './views/BrowseView.js';
import { DuplicatesView } from './views/DuplicatesView.js';
import { EvaluateView } from './views/EvaluateView.js';
import { ExportView } from './views/ExportView.js';
import { FirstRun } from './views/FirstRun.js';
import { ReviewView } from './views/ReviewView.js';
import { SearchView } from './views/SearchView.js';
import { SortView } from './views/SortView.js';

/** Enter and Space on a button press the button; every other key still reaches the map. */
function pressesControl(e: KeyboardEvent): boolean {
  if (e.key !== 'Enter' && e.key !== ' ') return false;
  const el = e.target as HTMLElement | null;
  return !!el && (el.tagName === 'BUTTON' || el.tagName === 'A' || el.tagName === 'SUMMARY' || el.getAttribute('role') === 'button');
}

function onKey(app: AppController, e: KeyboardEvent): void {
  const state = app.state;
  if (state.phase !== 'ready' || state.dialog || e.defaultPrevented) return;
  if (typingTarget(e.target) || pressesControl(e)) return;
  const matched = matchKey(e);
  if (!matched) {
    if (e.key === 'Escape' && state.layout !== 'grid') {
      e.preventDefault();
      app.setLayout('grid');
    }
    return;
  }
  const { command, advance } = matched;
  if (command.kind === 'help') {
    e.preventDefault();
    app.openDialog({ kind: 'help' });
    return;
  }
  // Duplicates and the form-like views have their own keys; only undo and help reach them.
  const workspace = app.activeWorkspace();
  const photoView = state.view === 'browse' || state.view === 'review' || state.view === 'search';
  if (command.kind === 'undo') {
    if (state.view === 'duplicates' || state.view === 'export' || state.view === 'evaluate') return;
    e.preventDefault();
    void app.undoMark();
    return;
  }
  if (!photoView || !workspace) return;
  e.preventDefault();
  if (isMarking(command)) {
    const targets = workspace.targets(state.layout);
    // Advance now, not when the engine answers: a fast hand presses the next key before that.
    if (advance && targets.length) workspace.focus(workspace.selection.get().focus + 1);
    void app.mark(command, targets, state.summary?.runId);
    return;
  }
  switch (command.kind) {
    case 'grid':
    case 'loupe':
    case 'compare':
      app.setLayout(command.kind);
      return;
    case 'info':
      app.store.update({ showInfo: !state.showInfo });
      return;
    case 'selectAll':
      workspace.selectAll();
      return;
    case 'tag': {
      const targets = workspace.targets(state.layout);
      if (targets.length) app.openDialog({ kind: 'tags', fileIds: targets });
      return;
    }
    case 'similar': {
      const id = workspace.focusedId();
      const item = id === undefined ? undefined : workspace.collection.item(id);
      if (item) void app.searchSimilar(item.path);
      return;
    }
  }
}

export function App() {
  const { t } = useTranslation();
  const app = useApp();
  const phase = useAppState((s) => s.phase);
  const error = useAppState((s) => s.error);
  const view = useAppState((s) => s.view);
  const dialog = useAppState((s) => s.dialog);

  useEffect(() => {
    void app.init();
  }, [app]);

  useEffect(() => {
    const listener = (e: KeyboardEvent) => onKey(app, e);
    window.addEventListener('keydown', listener);
    return () => window.removeEventListener('keydown', listener);
  }, [app]);

  const dialogs = (
    <>
      {dialog?.kind === 'help' && <HelpDialog onClose={() => app.closeDialog()} />}
      {dialog?.kind === 'folders' && <FolderPicker purpose={dialog.purpose} multiple={dialog.multiple} onDone={dialog.resolve} />}
      {dialog?.kind === 'tags' && <TagDialog fileIds={dialog.fileIds} onClose={() => app.closeDialog()} />}
      {dialog?.kind === 'index' && <IndexDialog onClose={() => app.closeDialog()} />}
      <Toasts />
    </>
  );

  if (phase === 'loading') {
    return (
      <main className="centered" aria-busy="true">
        <p className="muted">{t('app.loading')}</p>
      </main>
    );
  }
  if (phase === 'no-token' || phase === 'unreachable') {
    return (
      <main className="centered">
        <div className="empty-card">
          <h1>{t('app.title')}</h1>
          <p role="alert">{phase === 'no-token' ? t('app.noToken') : t('app.unreachable', { message: error ?? '' })}</p>
        </div>
      </main>
    );
  }
  if (phase === 'first-run') {
    return (
      <>
        <FirstRun />
        {dialogs}
      </>
    );
  }
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        {t('app.skip')}
      </a>
      <TopBar />
      <NavRail />
      <main id="main" className="main" tabIndex={-1}>
        {view === 'browse' && <BrowseView />}
        {view === 'sort' && <SortView />}
        {view === 'review' && <ReviewView />}
        {view === 'evaluate' && <EvaluateView />}
        {view === 'search' && <SearchView />}
        {view === 'duplicates' && <DuplicatesView />}
        {view === 'export' && <ExportView />}
      </main>
      <StatusBar />
      <DropOverlay />
      {dialogs}
    </div>
  );
}
