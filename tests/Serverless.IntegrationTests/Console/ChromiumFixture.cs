using Microsoft.Playwright;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Console;

/// <summary>
/// One headless Debian Chromium (/usr/bin/chromium, installed by test.sh) driven by Playwright, shared by the test
/// classes of <see cref="ChromiumCollection"/>; each test gets its own browser context (fresh session storage).
/// Playwright's own browser download is never used: it cannot reach the internet here.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Chromium has not started.");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
            throw new InvalidOperationException($"{ExecutablePath} is missing: run ./test.sh, which installs it, or apt-get install -y chromium.");
        _playwright = await Playwright.CreateAsync();
        var arguments = new List<string> { "--disable-gpu", "--disable-dev-shm-usage" };
        if (Environment.UserName == "root") arguments.Add("--no-sandbox"); // Chromium's sandbox refuses to run as root
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = arguments,
            Timeout = 120_000,
        });
        Assertions.SetDefaultExpectTimeout(30_000);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
    }

    /// <summary>A page of a new context at <paramref name="baseUrl"/>; confirm() dialogs are accepted, script errors collected.</summary>
    public async Task<BrowserPage> OpenAsync(string baseUrl)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl,
            ViewportSize = new ViewportSize { Width = 1280, Height = 860 },
        });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        var result = new BrowserPage(context, page);
        page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();
        page.PageError += (_, error) => result.Errors.Add(error);
        return result;
    }
}

/// <summary>A browser context and its page; disposing closes the context.</summary>
public sealed class BrowserPage(IBrowserContext context, IPage page) : IAsyncDisposable
{
    public IPage Page { get; } = page;

    /// <summary>Uncaught script errors of the page (see <see cref="AssertNoScriptErrors"/>).</summary>
    public List<string> Errors { get; } = [];

    /// <summary>
    /// Saves a screenshot of the page as docs/console/{name}.png when CONSOLE_SCREENSHOTS=1, so the pictures in the
    /// docs are refreshed by running the tests (docs/console.md).
    /// </summary>
    public async Task ScreenshotAsync(string name)
    {
        if (Environment.GetEnvironmentVariable("CONSOLE_SCREENSHOTS") != "1") return;
        var folder = Path.Combine(RepositoryLayout.Root, "docs", "console");
        Directory.CreateDirectory(folder);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name + ".png"), FullPage = true });
    }

    /// <summary>Fails with the page's uncaught script errors, if there were any.</summary>
    public void AssertNoScriptErrors() => Assert.True(Errors.Count == 0, "The page had script errors:\n" + string.Join("\n", Errors));

    public async ValueTask DisposeAsync() => await context.CloseAsync();
}

/// <summary>Test classes marked <c>[Collection(ChromiumCollection.Name)]</c> share one Chromium and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class ChromiumCollection : ICollectionFixture<ChromiumFixture>
{
    public const string Name = "Chromium";
}
