import { createContext, useContext, type ReactNode } from 'react';
import { TriagemClientError } from '../../shared/client.js';
import type { Platform } from './platform.js';

const PlatformContext = createContext<Platform | null>(null);

export function PlatformProvider({ platform, children }: { platform: Platform; children: ReactNode }) {
  return <PlatformContext.Provider value={platform}>{children}</PlatformContext.Provider>;
}

export function usePlatform(): Platform {
  const ctx = useContext(PlatformContext);
  if (!ctx) throw new Error('usePlatform outside PlatformProvider');
  return ctx;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function errorCode(err: unknown): string | undefined {
  return err instanceof TriagemClientError ? err.code : undefined;
}
