import { createContext, useContext, type ReactNode } from 'react';
import type { AppController, AppState } from './app.js';
import { useStore } from './store.js';

const Ctx = createContext<AppController | null>(null);

export function AppProvider({ app, children }: { app: AppController; children: ReactNode }) {
  return <Ctx.Provider value={app}>{children}</Ctx.Provider>;
}

export function useApp(): AppController {
  const app = useContext(Ctx);
  if (!app) throw new Error('useApp outside AppProvider');
  return app;
}

/** A slice of the app's state; the selector must return a stored value or a primitive. */
export function useAppState<S>(select: (state: AppState) => S): S {
  return useStore(useApp().store, select);
}
