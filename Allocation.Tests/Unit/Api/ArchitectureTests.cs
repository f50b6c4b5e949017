using System.Reflection;
using Allocation.Api.Controllers;
using Allocation.Application;
using Allocation.Domain;
using Allocation.Infrastructure;

namespace Allocation.Tests.Unit.Api;

/// <summary>The dependency rule, as the compiled assemblies actually reference each other.</summary>
public class ArchitectureTests
{
    private static string[] ReferencesOf(Assembly assembly) =>
        [.. assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Allocation", StringComparison.Ordinal) || !IsPlatform(n))];

    private static bool IsPlatform(string name) =>
        name.StartsWith("System", StringComparison.Ordinal) || name == "netstandard" || name == "mscorlib";

    [Test]
    public void The_domain_references_nothing_but_the_base_library()
    {
        ReferencesOf(typeof(Product).Assembly).Should().BeEmpty();
    }

    [Test]
    public void The_application_references_the_domain_and_no_data_or_web_library()
    {
        var references = ReferencesOf(typeof(IUnitOfWork).Assembly);

        references.Should().Contain("Allocation.Domain");
        references.Should().NotContain(n => n.StartsWith("Allocation.Infrastructure", StringComparison.Ordinal)
            || n.StartsWith("Allocation.Api", StringComparison.Ordinal)
            || n.StartsWith("Npgsql", StringComparison.Ordinal)
            || n.StartsWith("Dapper", StringComparison.Ordinal)
            || n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
    }

    /// <summary>
    /// The compiled references show only what the code uses; the project files show what it could
    /// start using unnoticed. The domain and the application take no ASP.NET Core at all.
    /// </summary>
    [TestCase("Allocation.Domain")]
    [TestCase("Allocation.Application")]
    public void The_inner_layers_cannot_even_reach_asp_net_core(string project)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Allocation.sln")))
        {
            directory = directory.Parent;
        }

        directory.Should().NotBeNull("the tests run from inside the repository");
        var projectFile = System.Xml.Linq.XDocument.Load(Path.Combine(directory!.FullName, project, project + ".csproj"));
        var references = projectFile.Descendants()
            .Where(e => e.Name.LocalName is "FrameworkReference" or "PackageReference")
            .Select(e => (string?)e.Attribute("Include") ?? "");

        references.Should().NotContain(r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
    }

    [Test]
    public void Infrastructure_implements_the_application_and_knows_nothing_of_the_api()
    {
        var references = ReferencesOf(typeof(DatabaseMigrator).Assembly);

        references.Should().Contain(["Allocation.Application", "Npgsql", "Dapper"]);
        references.Should().NotContain("Allocation.Api");
    }

    [Test]
    public void Controllers_depend_only_on_application_services()
    {
        var controllers = typeof(AllocationsController).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(AllocationsController).Namespace && t.Name.EndsWith("Controller", StringComparison.Ordinal))
            .ToList();

        controllers.Should().NotBeEmpty();
        foreach (var controller in controllers)
        {
            var dependencies = controller.GetConstructors().SelectMany(c => c.GetParameters()).Select(p => p.ParameterType)
                .Concat(controller.GetFields(BindingFlags.Instance | BindingFlags.NonPublic).Select(f => f.FieldType));
            dependencies.Should().OnlyContain(t => t.Assembly == typeof(IUnitOfWork).Assembly, controller.Name);
        }
    }
}
