# Gets tshup for Windows from the site that publishes it: downloads tshup-win-x64.exe, checks it
# against the site's SHA256SUMS, and runs its `self install`, which puts it at
# %LOCALAPPDATA%\Programs\tshup\tshup.exe and on the user Path (no admin rights).
#
#   irm https://SITE/tshup/install.ps1 | iex
#   $env:TSHUP_BASE_URL = 'https://SITE/tshup'; irm "$env:TSHUP_BASE_URL/install.ps1" | iex
#
# TSHUP_BASE_URL (the https:// directory holding tshup-win-x64.exe and SHA256SUMS) wins over the
# address built in, if any. Run through iex this must never `exit`, which would close the
# PowerShell window it runs in: every failure is thrown instead.
& {
    $ErrorActionPreference = 'Stop'
    # Invoke-WebRequest's progress bar slows Windows PowerShell 5.1's downloads many times over.
    $ProgressPreference = 'SilentlyContinue'

    # Filled in by `npm run dist -- --manifest FILE` from the manifest's self_update.base_url.
    $bakedBaseUrl = ''

    $base = if ($env:TSHUP_BASE_URL) { $env:TSHUP_BASE_URL } else { $bakedBaseUrl }
    if (-not $base) {
        throw 'tshup install: no address to download tshup from. Set $env:TSHUP_BASE_URL to the https:// address where your site publishes tshup, then run this again.'
    }
    if ($base -notmatch '^https://') {
        throw "tshup install: refusing ${base}: only https:// addresses (over plain http anyone on the network path could replace tshup and its SHA256SUMS together)."
    }
    $base = $base.TrimEnd('/')
    $arch = if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
    # Windows on Arm runs x64 programs under emulation; 32-bit Windows has no tshup.
    if ($arch -ne 'AMD64' -and $arch -ne 'ARM64') {
        throw "tshup install: no tshup is built for the processor $arch; tshup for Windows is built for x64."
    }
    $file = 'tshup-win-x64.exe'
    # Windows PowerShell 5.1 on older Windows does not offer TLS 1.2 unless asked.
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

    $tmp = Join-Path ([IO.Path]::GetTempPath()) ('tshup-' + [guid]::NewGuid())
    New-Item -ItemType Directory -Path $tmp | Out-Null
    try {
        Write-Host "Downloading $file from $base"
        $sums = Join-Path $tmp 'SHA256SUMS'
        Invoke-WebRequest -UseBasicParsing -Uri "$base/SHA256SUMS" -OutFile $sums
        $expected = $null
        foreach ($line in Get-Content -LiteralPath $sums) {
            if ($line -match '^([0-9A-Fa-f]{64}) [ *](\S+)$' -and $Matches[2] -eq $file) { $expected = $Matches[1].ToLowerInvariant() }
        }
        if (-not $expected) { throw "tshup install: $base/SHA256SUMS lists no $file; ask whoever runs the site to publish it." }
        $exe = Join-Path $tmp $file
        Invoke-WebRequest -UseBasicParsing -Uri "$base/$file" -OutFile $exe
        $actual = (Get-FileHash -LiteralPath $exe -Algorithm SHA256).Hash.ToLowerInvariant()
        if ($actual -ne $expected) {
            throw "tshup install: checksum mismatch for ${file}: expected $expected, got $actual; nothing was installed. Try again, and if it persists tell whoever runs $base."
        }
        & $exe self install @args
        if ($LASTEXITCODE -ne 0) { throw "tshup install: $file self install failed (exit $LASTEXITCODE); its message is above." }
    } finally {
        Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
    }
} @args
